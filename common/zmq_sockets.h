// ZeroMQ sockets for the two channels of the wire protocol, with every option
// set from one config struct. Trajectories: actors PUSH (connect) -> learner PULL
// (bind). Weights: learner PUB (bind) -> actors SUB with CONFLATE (connect).
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <string>

namespace hoverslam {

constexpr int kTrajectoryPort = 5555;
constexpr int kWeightsPort = 5556;

struct ZmqConfig {
  int send_hwm = 1;  // messages queued per peer before a send blocks: little, so data stays fresh
  int recv_hwm = 1;  // messages queued per connection on the receiving side
  // Kernel socket buffer (SO_SNDBUF/SO_RCVBUF) on trajectory sockets. Unbounded,
  // loopback TCP grows to megabytes: dozens of queued trajectories, all stale.
  int kernel_buffer_bytes = 128 << 10;
  int64_t max_message_bytes = 64ll << 20;  // ZMQ_MAXMSGSIZE: larger inbound messages are dropped
  int linger_ms = 1000;                    // how long close waits to flush pending sends
  int reconnect_ivl_ms = 100;              // first reconnect attempt after a peer goes away
  int reconnect_ivl_max_ms = 5000;         // reconnect back-off cap
  bool tcp_keepalive = true;               // detect dead peers behind NAT and load balancers
  int tcp_keepalive_idle_s = 30;           // idle seconds before the first probe
};

// "tcp://host:port"; an IPv6 literal is bracketed. A host that already names a
// transport ("ipc://...", "tcp://...", "inproc://...") is returned unchanged.
std::string Endpoint(const std::string& host, int port);

// Binding makers throw std::runtime_error naming the endpoint when the bind fails
// (port in use, bad address). Connecting makers do not wait: ZeroMQ retries.
zmq::socket_t MakeTrajectoryPush(zmq::context_t& ctx, const std::string& endpoint,
                                 const ZmqConfig& config);
zmq::socket_t MakeTrajectoryPull(zmq::context_t& ctx, const std::string& endpoint,
                                 const ZmqConfig& config);
zmq::socket_t MakeWeightsPub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config);
zmq::socket_t MakeWeightsSub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config);

}  // namespace hoverslam
