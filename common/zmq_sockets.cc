#include "common/zmq_sockets.h"

#include <algorithm>
#include <stdexcept>

// A draft option in libzmq 4.3's header, but Debian's library (built with drafts)
// honours it; SetCurveServer fails closed where one does not.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace hoverslam {
namespace {

// Grants queued per actor: an actor holds one or two at most, so this is never reached.
constexpr int kGrantHwm = 64;
constexpr int kMaxGrantBytes = 4096;  // a grant is about 80 bytes; the actor takes nothing larger
constexpr int kWeightsSendHwm = 4;    // weights messages queued per actor at the learner
constexpr int kMaxHeartbeatTtlMs = 6553599;  // libzmq sends the TTL in deciseconds, 16 bits

void SetCommon(zmq::socket_t& s, const ZmqConfig& c) {
  s.set(zmq::sockopt::linger, c.linger_ms);
  s.set(zmq::sockopt::reconnect_ivl, c.reconnect_ivl_ms);
  s.set(zmq::sockopt::reconnect_ivl_max, c.reconnect_ivl_max_ms);
  s.set(zmq::sockopt::tcp_keepalive, c.tcp_keepalive ? 1 : 0);
  if (c.tcp_keepalive) s.set(zmq::sockopt::tcp_keepalive_idle, c.tcp_keepalive_idle_s);
  s.set(zmq::sockopt::heartbeat_ivl, c.heartbeat_ivl_ms);
  s.set(zmq::sockopt::heartbeat_timeout, c.heartbeat_timeout_ms);
  s.set(zmq::sockopt::heartbeat_ttl, c.heartbeat_ttl_ms);
}

void SetCurveServer(zmq::socket_t& s, const CurveServer& curve) {
  if (!curve.enabled()) return;
  s.set(zmq::sockopt::curve_server, true);
  s.set(zmq::sockopt::curve_secretkey, curve.secret_key);
  s.set(zmq::sockopt::zap_domain, curve.zap_domain);
  // Without this libzmq admits every CURVE client when no ZAP handler answers.
  const int enforce = 1;
  if (zmq_setsockopt(s.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof(enforce)) != 0) {
    throw std::runtime_error(
        "this libzmq cannot enforce ZAP authentication (ZMQ_ZAP_ENFORCE_DOMAIN): "
        "refusing to serve CURVE without it");
  }
  // Every refused client, counted by the ZapAuthenticator that reads `monitor`.
  constexpr int kRefusals = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
  if (!curve.monitor.empty() &&
      zmq_socket_monitor(s.handle(), curve.monitor.c_str(), kRefusals) != 0) {
    throw std::runtime_error("cannot monitor a CURVE server socket on " + curve.monitor + ": " +
                             zmq_strerror(zmq_errno()));
  }
}

void SetCurveClient(zmq::socket_t& s, const CurveClient& curve) {
  if (!curve.enabled()) return;
  s.set(zmq::sockopt::curve_serverkey, curve.server_public_key);
  s.set(zmq::sockopt::curve_publickey, curve.public_key);
  s.set(zmq::sockopt::curve_secretkey, curve.secret_key);
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

void ZmqConfig::Validate() const {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
  };
  require(heartbeat_ivl_ms >= 0, "--zmq-heartbeat-ivl must be >= 0 (0: no heartbeats)");
  require(heartbeat_timeout_ms >= 0, "--zmq-heartbeat-timeout must be >= 0");
  require(heartbeat_ttl_ms >= 0 && heartbeat_ttl_ms <= kMaxHeartbeatTtlMs,
          "--zmq-heartbeat-ttl must be in 0.." + std::to_string(kMaxHeartbeatTtlMs));
  require(refused_retry_ms > 0, "--zmq-refused-retry must be > 0");
  require(refused_retry_max_ms >= refused_retry_ms,
          "--zmq-refused-retry-max must be >= --zmq-refused-retry");
}

std::string Endpoint(const std::string& host, int port) {
  if (host.find("://") != std::string::npos) return host;
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

zmq::socket_t MakeTrajectoryDealer(zmq::context_t& ctx, const std::string& endpoint,
                                   const ZmqConfig& config, const CurveClient& curve) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  SetCommon(s, config);
  SetCurveClient(s, curve);
  s.set(zmq::sockopt::sndhwm, config.send_hwm);
  s.set(zmq::sockopt::sndbuf, config.kernel_buffer_bytes);
  // Queue only to connected peers, so a learner that is away blocks the actor
  // instead of filling a queue for a connection that may never complete.
  s.set(zmq::sockopt::immediate, true);
  s.set(zmq::sockopt::maxmsgsize, int64_t{kMaxGrantBytes});
  if (!endpoint.empty()) s.connect(endpoint);
  return s;
}

zmq::socket_t MakeTrajectoryRouter(zmq::context_t& ctx, const std::string& endpoint,
                                   const ZmqConfig& config, const CurveServer& curve) {
  zmq::socket_t s(ctx, zmq::socket_type::router);
  SetCommon(s, config);
  SetCurveServer(s, curve);
  s.set(zmq::sockopt::router_mandatory, true);
  s.set(zmq::sockopt::sndhwm, kGrantHwm);
  s.set(zmq::sockopt::rcvhwm, config.recv_hwm);
  s.set(zmq::sockopt::rcvbuf, config.kernel_buffer_bytes);
  s.set(zmq::sockopt::maxmsgsize, config.max_message_bytes);
  Bind(s, endpoint, "trajectory");
  return s;
}

zmq::socket_t MakeWeightsPub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config, const CurveServer& curve) {
  zmq::socket_t s(ctx, zmq::socket_type::pub);
  SetCommon(s, config);
  SetCurveServer(s, curve);
  // PUB drops the *newest* message when a peer's queue is full, and with a high-water mark of
  // 1 libzmq counted a version sent just after another as over it: that version never
  // arrived. Actors conflate weights, so a few queued cost nothing.
  s.set(zmq::sockopt::sndhwm, std::max(config.send_hwm, kWeightsSendHwm));
  Bind(s, endpoint, "weights");
  return s;
}

zmq::socket_t MakeWeightsSub(zmq::context_t& ctx, const std::string& endpoint,
                             const ZmqConfig& config, const CurveClient& curve) {
  zmq::socket_t s(ctx, zmq::socket_type::sub);
  SetCommon(s, config);
  SetCurveClient(s, curve);
  // Keep only the newest weights: older versions are useless once a newer one arrives.
  s.set(zmq::sockopt::conflate, true);
  s.set(zmq::sockopt::maxmsgsize, config.max_message_bytes);
  s.set(zmq::sockopt::subscribe, "");
  if (!endpoint.empty()) s.connect(endpoint);
  return s;
}

}  // namespace hoverslam
