#include "common/connection_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace hoverslam {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// inproc names are per context; one counter keeps them unique in the process.
std::string NextMonitorEndpoint() {
  static std::atomic<uint64_t> next{0};
  return "inproc://hoverslam-monitor-" + std::to_string(next++);
}

}  // namespace

SocketMonitor::SocketMonitor(zmq::context_t& ctx, zmq::socket_t& socket, int events)
    : socket_(socket.handle()), reader_(ctx, zmq::socket_type::pair) {
  const std::string endpoint = NextMonitorEndpoint();
  if (zmq_socket_monitor(socket_, endpoint.c_str(), events) != 0) {
    throw std::runtime_error("cannot monitor a socket: " + std::string(zmq_strerror(zmq_errno())));
  }
  reader_.set(zmq::sockopt::linger, 0);
  reader_.connect(endpoint);
}

SocketMonitor::~SocketMonitor() {
  // Stop before closing the reader: libzmq's monitor sends block without a reader.
  zmq_socket_monitor(socket_, nullptr, 0);
}

std::optional<SocketEvent> SocketMonitor::Next() {
  zmq::message_t head, endpoint;
  try {
    if (!reader_.recv(head, zmq::recv_flags::dontwait)) return std::nullopt;
    // The second frame is sent together with the first: it is there.
    if (!head.more() || !reader_.recv(endpoint, zmq::recv_flags::none)) return std::nullopt;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::nullopt;
    throw;
  }
  if (head.size() < 6) return std::nullopt;
  uint16_t event = 0;
  uint32_t value = 0;
  std::memcpy(&event, head.data(), sizeof(event));
  std::memcpy(&value, static_cast<const char*>(head.data()) + 2, sizeof(value));
  return SocketEvent{event, static_cast<int>(value), endpoint.to_string()};
}

std::string_view HandshakeFailureName(HandshakeFailure failure) {
  switch (failure) {
    case HandshakeFailure::kKeyRefused:
      return "key_refused";
    case HandshakeFailure::kProtocol:
      return "protocol";
    case HandshakeFailure::kCount:
      break;
  }
  return "unknown";
}

ClientConnection::ClientConnection(zmq::context_t& ctx, std::string channel, std::string endpoint,
                                   Make make, const ZmqConfig& config, Hooks hooks)
    : ctx_(ctx),
      channel_(std::move(channel)),
      endpoint_(std::move(endpoint)),
      make_(std::move(make)),
      retry_min_s_(config.refused_retry_ms / 1e3),
      retry_max_s_(config.refused_retry_max_ms / 1e3),
      hooks_(std::move(hooks)),
      backoff_s_(retry_min_s_) {
  Open();
}

ClientConnection::~ClientConnection() { monitor_.reset(); }

void ClientConnection::Open() {
  socket_ = make_("");
  curve_ = socket_.get(zmq::sockopt::mechanism) == ZMQ_CURVE;
  monitor_ = std::make_unique<SocketMonitor>(ctx_, socket_);
  socket_.connect(endpoint_);
}

void ClientConnection::Close() {
  monitor_.reset();
  socket_.set(zmq::sockopt::linger, 0);
  socket_.close();
  SetConnected(false);
}

void ClientConnection::SetConnected(bool connected) {
  if (connected == connected_) return;
  connected_ = connected;
  if (hooks_.on_connected) hooks_.on_connected(connected);
}

void ClientConnection::Poll() {
  while (std::optional<SocketEvent> e = monitor_->Next()) Handle(*e);
  if (retry_at_ > 0 && Now() >= retry_at_) {
    retry_at_ = 0;
    spdlog::info("re-dialling {} ({})", endpoint_, channel_);
    Close();
    Open();
  }
}

void ClientConnection::Handle(const SocketEvent& e) {
  const double now = Now();
  switch (e.event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      if (failed_) spdlog::info("connected to {} ({})", endpoint_, channel_);
      failed_ = false;
      backoff_s_ = retry_min_s_;
      quiet_until_ = 0;
      SetConnected(true);
      return;
    case ZMQ_EVENT_DISCONNECTED:
      SetConnected(false);
      return;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: {
      // libzmq will not re-dial this peer: schedule our own retry.
      const bool auth = e.event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
      failed_ = true;
      SetConnected(false);
      if (hooks_.on_failure) {
        hooks_.on_failure(auth ? HandshakeFailure::kKeyRefused : HandshakeFailure::kProtocol);
      }
      if (retry_at_ > 0) return;  // already logged for this back-off
      retry_at_ = now + backoff_s_;
      quiet_until_ = retry_at_;
      std::string why;
      if (auth) {
        why = "refused this process's CURVE key (ZAP status " + std::to_string(e.value) +
              "): its public key is not authorized in the learner's --curve-client-keys "
              "directory";
      } else if (e.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        why = curve_ ? "does not use CURVE but this process does (--curve-server-key-file)"
                     : "uses CURVE but this process does not: give it --curve-server-key-file "
                       "and --curve-secret-key-file";
      } else {
        char code[16];
        std::snprintf(code, sizeof(code), "0x%x", static_cast<unsigned>(e.value));
        why = std::string("failed the handshake (protocol error ") + code +
              (curve_ ? "): is --curve-server-key-file the learner's public key?" : ")");
      }
      spdlog::warn("{} ({}) {}; retrying in {:g} s", endpoint_, channel_, why, backoff_s_);
      backoff_s_ = std::min(2 * backoff_s_, retry_max_s_);
      return;
    }
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      // The peer closed (or timed out) mid-handshake; libzmq re-dials by itself. With
      // CURVE a wrong server key looks like this: the server drops the connection.
      failed_ = true;
      SetConnected(false);
      if (now < quiet_until_) return;
      spdlog::warn("{} ({}) closed the connection during the handshake{}", endpoint_, channel_,
                   curve_ ? "; if this repeats, --curve-server-key-file may not be the learner's "
                            "public key, or this process's key is not authorized"
                          : "");
      quiet_until_ = now + backoff_s_;
      backoff_s_ = std::min(2 * backoff_s_, retry_max_s_);
      return;
    default:
      return;
  }
}

}  // namespace hoverslam
