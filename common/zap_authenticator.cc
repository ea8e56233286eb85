#include "common/zap_authenticator.h"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/labelled_metrics.h"

namespace hoverslam {
namespace fs = std::filesystem;
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";  // fixed by RFC 27
constexpr std::chrono::milliseconds kPoll(100);  // bounds shutdown and monitor pick-up
constexpr double kRefusalLogEvery = 30;          // seconds between logs of the same refusal
// A stranger can present a new key at every attempt: past this many remembered refusals
// the log throttle forgets them all rather than grow without bound.
constexpr size_t kMaxRefusalsRemembered = 1024;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Z85(const std::string& binary_key) {
  char text[kCurveKeyChars + 1] = {};
  zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(binary_key.data()), binary_key.size());
  return text;
}

std::string Binary(const std::string& z85_key) {
  std::string key(32, '\0');
  zmq_z85_decode(reinterpret_cast<uint8_t*>(key.data()), z85_key.c_str());
  return key;
}

std::string ValidatedSecretKey(const CurveServerFiles& files) {
  files.Validate();
  return ReadSecretKeyFile(files.secret_key_file);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string_view AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kKeyNotAuthorized:
      return "key_not_authorized";
    case AuthFailure::kNotCurve:
      return "not_curve";
    case AuthFailure::kBadHandshake:
      return "bad_handshake";
    case AuthFailure::kHandshakeAborted:
      return "handshake_aborted";
    case AuthFailure::kCount:
      break;
  }
  return "unknown";
}

ZapAuthenticator::ZapAuthenticator(zmq::context_t& ctx, const CurveServerFiles& files, Hooks hooks,
                                   double reload_s)
    : ctx_(ctx),
      secret_key_(ValidatedSecretKey(files)),
      dir_(files.client_keys_dir),
      hooks_(std::move(hooks)),
      reload_s_(reload_s),
      rep_(ctx, zmq::socket_type::rep) {
  Reload(/*startup=*/true);
  rep_.set(zmq::sockopt::linger, 0);
  try {
    rep_.bind(kZapEndpoint);  // before any server socket exists, so none is ever unguarded
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(std::string("cannot start the ZAP handler on ") + kZapEndpoint + ": " +
                             e.what());
  }
  spdlog::info(
      "CURVE on: learner public key {}, {} authorized client keys in {} (re-read every "
      "{:g} s)",
      CurvePublicKey(secret_key_), authorized_.size(), dir_, reload_s_);
  thread_ = std::thread([this] { Loop(); });
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_.store(true);
  thread_.join();
}

CurveServer ZapAuthenticator::Server(const std::string& channel) {
  static std::atomic<uint64_t> next{0};
  CurveServer settings;
  settings.secret_key = secret_key_;
  settings.zap_domain = kZapDomain;
  settings.monitor = "inproc://hoverslam-zap-monitor-" + std::to_string(next++);
  // Connected before the socket binds its monitor (inproc allows it), so no event is lost.
  Monitor monitor{channel, zmq::socket_t(ctx_, zmq::socket_type::pair)};
  monitor.reader.set(zmq::sockopt::linger, 0);
  monitor.reader.connect(settings.monitor);
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back(std::move(monitor));  // the mutex hands the socket to the thread
  return settings;
}

void ZapAuthenticator::Reload(bool startup) {
  std::map<std::string, std::string> keys;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    const std::string why =
        "--curve-client-keys " + dir_ + " is not a readable directory: " + ec.message();
    if (startup) throw std::runtime_error(why);
    if (bad_files_[dir_] != why)
      spdlog::error("{}; keeping the {} keys read before", why, authorized_.size());
    bad_files_[dir_] = why;
    return;
  }
  bad_files_.erase(dir_);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    // Kubernetes keeps its ..data and ..<timestamp> entries beside the files.
    if (name.empty() || name[0] == '.' || !EndsWith(name, ".pub")) continue;
    const std::string path = it->path().string();
    try {
      keys[Binary(ReadPublicKeyFile(path))] = name.substr(0, name.size() - 4);
      bad_files_.erase(path);
    } catch (const std::exception& e) {
      // A file that vanished mid-listing is a swap in progress: try again next time. The
      // non-throwing exists: one that cannot be stat'ed (ELOOP, EACCES) is just a bad file,
      // and an exception here would stop the handler for good.
      std::error_code unknown;
      if (!fs::exists(it->path(), unknown) && !unknown) return;
      if (startup) throw;
      if (bad_files_[path] != e.what()) spdlog::warn("ignoring {}", e.what());
      bad_files_[path] = e.what();
    }
  }
  if (ec) {
    if (startup)
      throw std::runtime_error("cannot list --curve-client-keys " + dir_ + ": " + ec.message());
    return;
  }
  if (keys == authorized_ && !startup) return;
  if (!startup) {
    int added = 0, removed = 0;
    for (const auto& [key, name] : keys) added += authorized_.count(key) == 0;
    for (const auto& [key, name] : authorized_) removed += keys.count(key) == 0;
    spdlog::info("authorized client keys now {} ({} added, {} removed) from {}", keys.size(), added,
                 removed, dir_);
  } else if (keys.empty()) {
    spdlog::warn(
        "--curve-client-keys {} holds no *.pub key: every client is refused until one "
        "is added",
        dir_);
  }
  authorized_ = std::move(keys);
  authorized_count_.store(authorized_.size());
  if (hooks_.on_keys) hooks_.on_keys(authorized_.size());
}

void ZapAuthenticator::Answer() {
  std::vector<zmq::message_t> frames;
  do {
    zmq::message_t frame;
    if (!rep_.recv(frame, zmq::recv_flags::dontwait)) return;
    frames.push_back(std::move(frame));
  } while (frames.back().more());
  // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
  auto text = [&](size_t i) { return i < frames.size() ? frames[i].to_string() : std::string(); };
  std::string status = "400", reason = "key not authorized";
  if (frames.size() < 6 || text(0) != "1.0") {
    status = "500";
    reason = "malformed ZAP request";
  } else if (text(5) == "CURVE" && frames.size() >= 7 && frames[6].size() == 32 &&
             text(2) == kZapDomain) {
    const auto found = authorized_.find(frames[6].to_string());
    if (found != authorized_.end()) {
      status = "200";
      reason = "OK";
    }
  } else {
    reason = "CURVE required";
  }
  if (status != "200") {
    // A client re-dials after each refusal: log each key now and then, not each time.
    const std::string who = frames.size() >= 7 && frames[6].size() == 32
                                ? "key " + Z85(frames[6].to_string())
                                : "a " + text(5) + " client";
    if (ShouldLogRefusal(who)) {
      spdlog::warn("refused {} from {}: {} (authorized keys are the *.pub files in {})", who,
                   text(3), reason, dir_);
    }
  }
  // No User-Id: with one, libzmq 4.3.4 never delivers to a PULL whose rcvhwm is 1
  // (measured), and nothing here reads it.
  const std::array<std::string, 6> reply{"1.0", text(1), status, reason, "", ""};
  for (size_t i = 0; i < reply.size(); ++i) {
    rep_.send(zmq::buffer(reply[i]),
              i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

void ZapAuthenticator::ReadMonitor(Monitor& monitor) {
  zmq::message_t head, endpoint;
  while (monitor.reader.recv(head, zmq::recv_flags::dontwait)) {
    if (!head.more() || !monitor.reader.recv(endpoint, zmq::recv_flags::none) || head.size() < 6) {
      continue;
    }
    uint16_t event = 0;
    uint32_t value = 0;
    std::memcpy(&event, head.data(), sizeof(event));
    std::memcpy(&value, static_cast<const char*>(head.data()) + 2, sizeof(value));
    AuthFailure failure = AuthFailure::kBadHandshake;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      failure = AuthFailure::kKeyNotAuthorized;  // the ZAP answer above; already logged
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
      failure = AuthFailure::kHandshakeAborted;
    } else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      failure = AuthFailure::kNotCurve;
    }
    if (failure != AuthFailure::kKeyNotAuthorized) {
      const std::string what = monitor.channel + std::string(AuthFailureName(failure));
      if (ShouldLogRefusal(what)) {
        spdlog::warn("refused a client on {} ({}): {}", endpoint.to_string(), monitor.channel,
                     failure == AuthFailure::kNotCurve ? "it does not use CURVE"
                     : failure == AuthFailure::kHandshakeAborted
                         ? "it hung up mid-handshake (a plaintext client?)"
                         : "its CURVE handshake failed (a wrong --curve-server-key-file?)");
      }
    }
    if (hooks_.on_failure) hooks_.on_failure(failure);
  }
}

bool ZapAuthenticator::ShouldLogRefusal(const std::string& what) {
  const double now = Now();
  if (last_refusal_log_.size() >= kMaxRefusalsRemembered) last_refusal_log_.clear();
  auto [it, fresh] = last_refusal_log_.try_emplace(what, now);
  if (!fresh && now - it->second < kRefusalLogEvery) return false;
  it->second = now;
  return true;
}

void ZapAuthenticator::Loop() {
  double next_reload = Now() + reload_s_;
  try {
    while (!stop_.load()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (Monitor& m : pending_) monitors_.push_back(std::move(m));
        pending_.clear();
      }
      std::vector<zmq::pollitem_t> items{{rep_.handle(), 0, ZMQ_POLLIN, 0}};
      for (Monitor& m : monitors_) items.push_back({m.reader.handle(), 0, ZMQ_POLLIN, 0});
      try {
        zmq::poll(items.data(), items.size(), kPoll);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
      if (items[0].revents & ZMQ_POLLIN) Answer();
      for (size_t i = 0; i < monitors_.size(); ++i) {
        if (items[i + 1].revents & ZMQ_POLLIN) ReadMonitor(monitors_[i]);
      }
      if (Now() >= next_reload) {
        Reload(/*startup=*/false);
        next_reload = Now() + reload_s_;
      }
    }
  } catch (const std::exception& e) {
    // The sockets enforce their ZAP domain: with no handler they admit nobody.
    spdlog::error("ZAP handler stopped: {}; every client is refused from now on, /healthz fails",
                  e.what());
    failed_.store(true);
  }
  rep_.close();
  monitors_.clear();
}

std::unique_ptr<ZapAuthenticator> MakeZapAuthenticator(zmq::context_t& ctx,
                                                       const CurveServerFiles& files,
                                                       MetricsServer& metrics,
                                                       const std::string& prefix) {
  const auto counters = CountersByEnum<AuthFailure>(
      metrics, prefix + "_auth_failures_total",
      "Clients refused by the CURVE server sockets, by reason.", "reason", AuthFailureName);
  prometheus::Gauge& keys = metrics.Gauge(
      prefix + "_authorized_keys", "Client keys admitted now (*.pub in --curve-client-keys).");
  if (!files.enabled()) return nullptr;
  ZapAuthenticator::Hooks hooks;
  hooks.on_failure = [counters](AuthFailure f) { counters[static_cast<int>(f)]->Increment(); };
  hooks.on_keys = [gauge = &keys](size_t n) { gauge->Set(static_cast<double>(n)); };
  return std::make_unique<ZapAuthenticator>(ctx, files, std::move(hooks));
}

CurveServer ServerCurve(ZapAuthenticator* zap, const std::string& channel) {
  return zap ? zap->Server(channel) : CurveServer{};
}

}  // namespace hoverslam
