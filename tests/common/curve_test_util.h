// What the CURVE and heartbeat tests share: the message of a thrown error, and a
// socket's monitor events.
#pragma once

#include <zmq.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/connection_monitor.h"

namespace hoverslam::testing {

// The what() of what `f` throws, or "" when it does not throw.
inline std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Collects a socket's monitor events; polls without blocking. Not thread-safe.
struct EventLog {
  EventLog(zmq::context_t& ctx, zmq::socket_t& socket) : monitor(ctx, socket) {}
  bool Saw(int event) {
    while (std::optional<SocketEvent> e = monitor.Next()) seen.push_back(e->event);
    return std::find(seen.begin(), seen.end(), event) != seen.end();
  }
  SocketMonitor monitor;
  std::vector<int> seen;
};

}  // namespace hoverslam::testing
