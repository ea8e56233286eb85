// ZeroMQ sockets for the two channels of the wire protocol, with every option
// set from one config struct. Trajectories: actors DEALER (connect) <-> learner ROUTER
// (bind): ready and trajectory messages in, grants out (credit flow, proto 2). Weights:
// learner PUB (bind) -> actors SUB with CONFLATE (connect).
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <string>

#include "common/curve.h"

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
  // ZMTP heartbeats on every connection: a peer that answers nothing for the timeout
  // (stopped, or its packets dropped) is dropped and re-dialled, and the re-dial
  // re-resolves the host name, so a moved Kubernetes Service or pod is followed.
  int heartbeat_ivl_ms = 1000;      // PING this often; 0: no heartbeats
  int heartbeat_timeout_ms = 5000;  // drop the connection after this long without traffic
  int heartbeat_ttl_ms = 10000;     // ask the peer to drop us after this long without traffic
  // ZeroMQ stops re-dialling a peer that refused the handshake (key not authorized,
  // CURVE at one end only); clients re-create the socket after this back-off instead.
  int refused_retry_ms = 1000;       // first retry after a refusal
  int refused_retry_max_ms = 30000;  // the back-off doubles up to this

  // Throws std::invalid_argument naming the flag of the first bad field.
  void Validate() const;
};

// "tcp://host:port"; an IPv6 literal is bracketed. A host that already names a
// transport ("ipc://...", "tcp://...", "inproc://...") is returned unchanged.
std::string Endpoint(const std::string& host, int port);

// Binding makers throw std::runtime_error naming the endpoint when the bind fails
// (port in use, bad address). Connecting makers do not wait: ZeroMQ retries; with
// an empty endpoint they leave the socket unconnected (to attach a monitor first).
// With CURVE a server socket admits only clients its context's ZAP handler
// (ZapAuthenticator) approves, and nobody when no handler answers; without CURVE
// settings the sockets are plaintext, as before.
zmq::socket_t MakeTrajectoryDealer(zmq::context_t& ctx, const std::string& endpoint,
                                   const ZmqConfig& config, const CurveClient& curve = {});
// ROUTER_MANDATORY: a grant to a peer that is gone fails (EHOSTUNREACH) instead of
// vanishing, so the learner hands the credit to someone else.
zmq::socket_t MakeTrajectoryRouter(zmq::context_t& ctx, const std::string& endpoint,
                                   const ZmqConfig& config, const CurveServer& curve = {});
zmq::socket_t MakeWeightsPub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config, const CurveServer& curve = {});
zmq::socket_t MakeWeightsSub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config, const CurveClient& curve = {});

}  // namespace hoverslam
