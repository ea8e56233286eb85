// The learner's side of CURVE: a ZAP handler (ZeroMQ's authentication protocol,
// RFC 27) that admits only actors whose public key is in a directory, re-read so
// keys rotate without a restart, and counts every client its sockets refuse.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/curve.h"
#include "common/metrics.h"

namespace hoverslam {

// Why a server socket refused a client.
enum class AuthFailure {
  kKeyNotAuthorized,  // a CURVE client whose key is not in the directory
  kNotCurve,          // a plaintext (NULL mechanism) client
  kBadHandshake,      // a CURVE exchange that failed, e.g. the client has a wrong server key
  kHandshakeAborted,  // the client hung up mid-handshake (a plaintext client that noticed
                      // first, a port scan, a client killed at that moment)
  kCount,
};
std::string_view AuthFailureName(AuthFailure failure);  // the metric label

// Thread-safe: owns a thread that answers ZAP requests on inproc://zeromq.zap.01 in
// `ctx` and reads the server sockets' monitors. Construct it before the server
// sockets (which Server() configures) and destroy it after they are closed. If its
// thread ever stops, the sockets refuse every client: they enforce the ZAP domain.
class ZapAuthenticator {
 public:
  // Called on the authenticator's thread (and the keys' once from the constructor).
  struct Hooks {
    std::function<void(AuthFailure)> on_failure;  // each refused client
    std::function<void(size_t)> on_keys;          // the number of authorized keys changed
  };

  // Reads the secret key and the authorized keys (each *.pub file in
  // files.client_keys_dir) now, and the directory again every `reload_s` seconds.
  // Throws std::runtime_error naming the file or directory that is unusable.
  ZapAuthenticator(zmq::context_t& ctx, const CurveServerFiles& files, Hooks hooks,
                   double reload_s = 1.0);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  // Settings for a server socket of `channel` (a log name): CURVE with the
  // learner's key, the enforced ZAP domain, and a monitor this thread reads.
  CurveServer Server(const std::string& channel);

  // Keys admitted now.
  size_t authorized_keys() const { return authorized_count_.load(); }
  // The thread stopped on an error: every client is refused until the process restarts,
  // so the owner should fail its /healthz and let Kubernetes restart it.
  bool failed() const { return failed_.load(); }

 private:
  struct Monitor {
    std::string channel;
    zmq::socket_t reader;
  };

  void Loop();
  void Reload(bool startup);
  void Answer();
  void ReadMonitor(Monitor& monitor);
  // Whether to log this refusal now: once per kRefusalLogEvery for each key or kind.
  bool ShouldLogRefusal(const std::string& what);

  zmq::context_t& ctx_;
  std::string secret_key_, dir_;
  Hooks hooks_;
  double reload_s_;
  zmq::socket_t rep_;
  std::map<std::string, std::string> authorized_;   // 32-byte key -> name (its file); thread's
  std::map<std::string, std::string> bad_files_;    // path -> why, so each is logged once
  std::map<std::string, double> last_refusal_log_;  // what was refused -> when it was logged
  std::atomic<size_t> authorized_count_{0};
  std::mutex mutex_;
  std::vector<Monitor> pending_;   // made by Server(), adopted by the thread; under mutex_
  std::vector<Monitor> monitors_;  // the thread's
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

// The learner's wiring: exports PREFIX_auth_failures_total{reason} (every reason
// shown from the start) and PREFIX_authorized_keys, and returns the authenticator,
// or null when `files` leave CURVE off. Throws like the constructor.
std::unique_ptr<ZapAuthenticator> MakeZapAuthenticator(zmq::context_t& ctx,
                                                       const CurveServerFiles& files,
                                                       MetricsServer& metrics,
                                                       const std::string& prefix);

// zap->Server(channel), or plaintext settings when zap is null.
CurveServer ServerCurve(ZapAuthenticator* zap, const std::string& channel);

}  // namespace hoverslam
