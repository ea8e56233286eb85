// Liveness for Kubernetes probes: a binary's main loop beats whenever it makes
// progress or legitimately waits (for data, for a peer), so a starved process is
// healthy and only a stuck loop goes stale. Served as /healthz by MetricsServer.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace hoverslam {

// --metrics-bind's default, every interface: what a pod needs, so the kubelet and
// Prometheus can reach /healthz and /metrics.
constexpr const char* kAllInterfaces = "*";

// --health-timeout's default: far above one PPO update of the default net (0.2-1 s on a CPU).
constexpr double kDefaultHealthTimeoutS = 60;

// Thread-safe: the main loop beats, the metrics thread reads.
class Heartbeat {
 public:
  Heartbeat() { Beat(); }  // starting counts as progress

  void Beat();
  double SecondsSinceBeat() const;

 private:
  std::atomic<int64_t> last_ns_{0};  // steady_clock
};

// What /healthz answers: healthy while the last beat is at most `timeout_s` old.
struct HealthReport {
  bool healthy = true;
  std::string text;  // one line for the response body
};
HealthReport CheckHealth(const Heartbeat& heartbeat, double timeout_s);

}  // namespace hoverslam
