// The actor's Prometheus metrics, resolved once so the loop only increments.
#pragma once

#include <array>
#include <memory>

#include "common/labelled_metrics.h"

namespace hoverslam {

// Thread-safe (prometheus-cpp metrics are); owned by the actor loop.
struct ActorMetrics {
  explicit ActorMetrics(MetricsServer& server);

  prometheus::Counter& env_steps;
  prometheus::Histogram& episode_return;
  prometheus::Histogram& episode_length;
  prometheus::Gauge& policy_version;
  prometheus::Gauge& num_envs;
  prometheus::Counter& trajectories_sent;
  prometheus::Counter& bytes_sent;
  prometheus::Counter& send_blocked_seconds;
  prometheus::Counter& inference_seconds;
  prometheus::Counter& env_step_seconds;
  prometheus::Counter& weights_received;
  OutcomeCounters episodes{};
  ReasonCounters weights_rejected{};
};

}  // namespace hoverslam
