#include "common/health.h"

#include <chrono>
#include <cstdio>

namespace hoverslam {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Heartbeat::Beat() { last_ns_.store(NowNs(), std::memory_order_relaxed); }

double Heartbeat::SecondsSinceBeat() const {
  return static_cast<double>(NowNs() - last_ns_.load(std::memory_order_relaxed)) * 1e-9;
}

HealthReport CheckHealth(const Heartbeat& heartbeat, double timeout_s) {
  const double age = heartbeat.SecondsSinceBeat();
  char text[128];
  const bool healthy = age <= timeout_s;
  std::snprintf(text, sizeof(text), "%s: main loop last progressed %.1f s ago (limit %.0f s)\n",
                healthy ? "ok" : "stalled", age, timeout_s);
  return {healthy, text};
}

}  // namespace hoverslam
