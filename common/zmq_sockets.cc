#include "common/zmq_sockets.h"

#include <stdexcept>

namespace hoverslam {
namespace {

void SetCommon(zmq::socket_t& s, const ZmqConfig& c) {
  s.set(zmq::sockopt::linger, c.linger_ms);
  s.set(zmq::sockopt::reconnect_ivl, c.reconnect_ivl_ms);
  s.set(zmq::sockopt::reconnect_ivl_max, c.reconnect_ivl_max_ms);
  s.set(zmq::sockopt::tcp_keepalive, c.tcp_keepalive ? 1 : 0);
  if (c.tcp_keepalive) s.set(zmq::sockopt::tcp_keepalive_idle, c.tcp_keepalive_idle_s);
}

void Bind(zmq::socket_t& s, const std::string& endpoint, const char* what) {
  try {
    s.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(std::string("cannot bind the ") + what + " socket to " + endpoint +
                             ": " + e.what());
  }
}

}  // namespace

std::string Endpoint(const std::string& host, int port) {
  if (host.find("://") != std::string::npos) return host;
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

zmq::socket_t MakeTrajectoryPush(zmq::context_t& ctx, const std::string& endpoint,
                                 const ZmqConfig& config) {
  zmq::socket_t s(ctx, zmq::socket_type::push);
  SetCommon(s, config);
  s.set(zmq::sockopt::sndhwm, config.send_hwm);
  s.set(zmq::sockopt::sndbuf, config.kernel_buffer_bytes);
  // Queue only to connected peers, so a learner that is away blocks the actor
  // instead of filling a queue for a connection that may never complete.
  s.set(zmq::sockopt::immediate, true);
  s.connect(endpoint);
  return s;
}

zmq::socket_t MakeTrajectoryPull(zmq::context_t& ctx, const std::string& endpoint,
                                 const ZmqConfig& config) {
  zmq::socket_t s(ctx, zmq::socket_type::pull);
  SetCommon(s, config);
  s.set(zmq::sockopt::rcvhwm, config.recv_hwm);
  s.set(zmq::sockopt::rcvbuf, config.kernel_buffer_bytes);
  s.set(zmq::sockopt::maxmsgsize, config.max_message_bytes);
  Bind(s, endpoint, "trajectory");
  return s;
}

zmq::socket_t MakeWeightsPub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config) {
  zmq::socket_t s(ctx, zmq::socket_type::pub);
  SetCommon(s, config);
  s.set(zmq::sockopt::sndhwm, config.send_hwm);
  Bind(s, endpoint, "weights");
  return s;
}

zmq::socket_t MakeWeightsSub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config) {
  zmq::socket_t s(ctx, zmq::socket_type::sub);
  SetCommon(s, config);
  // Keep only the newest weights: older versions are useless once a newer one arrives.
  s.set(zmq::sockopt::conflate, true);
  s.set(zmq::sockopt::maxmsgsize, config.max_message_bytes);
  s.set(zmq::sockopt::subscribe, "");
  s.connect(endpoint);
  return s;
}

}  // namespace hoverslam
