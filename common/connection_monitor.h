// What happens to a socket's connections, from libzmq's socket monitor, and a
// connecting socket that recovers when its peer refuses it.
#pragma once

#include <zmq.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/zmq_sockets.h"

namespace hoverslam {

// One monitor event (zmq_socket_monitor's v1 two-frame message).
struct SocketEvent {
  int event = 0;         // ZMQ_EVENT_*
  int value = 0;         // errno, ZAP status code or ZMQ_PROTOCOL_ERROR_*, by event
  std::string endpoint;  // the socket's endpoint it concerns
};

// Reads one socket's monitor events over inproc without blocking. Not thread-safe:
// it belongs to the thread that owns the socket, which must outlive it (the
// destructor stops the monitor through the socket).
class SocketMonitor {
 public:
  static constexpr int kConnectionEvents = ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_DISCONNECTED;

  SocketMonitor(zmq::context_t& ctx, zmq::socket_t& socket, int events = kConnectionEvents);
  ~SocketMonitor();
  SocketMonitor(const SocketMonitor&) = delete;
  SocketMonitor& operator=(const SocketMonitor&) = delete;

  // The next event, or nullopt when none is pending.
  std::optional<SocketEvent> Next();

 private:
  void* socket_;  // the monitored socket's handle
  zmq::socket_t reader_;
};

// Why a peer refused a handshake and ZeroMQ gave up re-dialling it.
enum class HandshakeFailure {
  kKeyRefused,  // the server's ZAP handler refused our CURVE key (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
  kProtocol,    // CURVE at one end only, or a bad CURVE exchange (..._FAILED_PROTOCOL)
  kCount,
};
std::string_view HandshakeFailureName(HandshakeFailure failure);  // the metric label

// A connecting socket that does not hang when refused. libzmq stops re-dialling
// a peer after an authentication or protocol failure of the handshake; this
// watches the socket's monitor and re-creates the socket after a back-off that
// starts at config.refused_retry_ms and doubles to config.refused_retry_max_ms
// (reset by a successful handshake), logging each failure once per back-off.
// Not thread-safe: the thread that uses socket() calls Poll.
class ClientConnection {
 public:
  // Makes the socket, connected to `endpoint`; called with "" (unconnected:
  // ClientConnection attaches its monitor first, then connects).
  using Make = std::function<zmq::socket_t(const std::string& endpoint)>;
  struct Hooks {
    std::function<void(HandshakeFailure)> on_failure;  // each refusal (a metric)
    std::function<void(bool)> on_connected;  // a handshake succeeded (true) / connection lost
  };

  ClientConnection(zmq::context_t& ctx, std::string channel, std::string endpoint, Make make,
                   const ZmqConfig& config, Hooks hooks = {});
  ~ClientConnection();

  // The current socket; Poll may replace it, so do not keep the reference across Polls.
  zmq::socket_t& socket() { return socket_; }
  bool connected() const { return connected_; }

  // Reads pending monitor events and re-creates the socket when a retry is due.
  // Cheap: call it from every loop iteration.
  void Poll();

 private:
  void Open();
  void Close();
  void Handle(const SocketEvent& e);
  void SetConnected(bool connected);

  zmq::context_t& ctx_;
  std::string channel_, endpoint_;
  Make make_;
  double retry_min_s_, retry_max_s_;
  Hooks hooks_;
  zmq::socket_t socket_;
  std::unique_ptr<SocketMonitor> monitor_;
  bool curve_ = false;      // the socket uses CURVE (for the log's hint)
  bool connected_ = false;  // a handshake succeeded and the connection is up
  bool failed_ = false;     // failures since the last successful handshake
  double backoff_s_;        // the next back-off
  double quiet_until_ = 0;  // no failure log before this (steady seconds)
  double retry_at_ = 0;     // re-create the socket at this time; 0: not scheduled
};

}  // namespace hoverslam
