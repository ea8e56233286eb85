// The learner's Prometheus metrics, resolved once so hot paths only increment.
#pragma once

#include <array>

#include "common/env.h"
#include "common/labelled_metrics.h"

namespace hoverslam::learner {

// Where the PPO loop's wall time goes (the `phase` label): its rates add up to about 1.
enum class UpdatePhase {
  kWait,        // for data (also hoverslam_learner_wait_seconds_total)
  kBatch,       // values from the critic, GAE, advantages
  kOptimise,    // epochs x minibatches
  kPublish,     // exporting and sending the weights
  kCheckpoint,  // writing a checkpoint
  kCount
};
const char* UpdatePhaseName(UpdatePhase phase);

// Policy lag buckets: every integer lag up to 8, then doubling, always ending at
// max_policy_lag (older data is rejected), so no bucket lies beyond what is accepted.
prometheus::Histogram::BucketBoundaries PolicyLagBuckets(uint64_t max_policy_lag);

// Thread-safe (prometheus-cpp metrics are): the receiver and the PPO loop share it.
struct LearnerMetrics {
  LearnerMetrics(MetricsServer& server, uint64_t max_policy_lag, const EnvSpec& env);

  prometheus::Counter& transitions_received;
  prometheus::Counter& trajectories_received;
  ReasonCounters rejected{};
  prometheus::Gauge& policy_version;
  prometheus::Histogram& policy_lag;
  prometheus::Gauge& max_policy_lag;
  prometheus::Gauge& queue_depth;
  prometheus::Histogram& update_duration;
  prometheus::Gauge& pg_loss;
  prometheus::Gauge& v_loss;
  prometheus::Gauge& entropy;
  prometheus::Gauge& approx_kl;
  prometheus::Gauge& clipfrac;
  prometheus::Gauge& explained_var;
  prometheus::Gauge& learning_rate;
  prometheus::Gauge& actors_seen;
  prometheus::Counter& checkpoints_written;
  prometheus::Counter& checkpoint_failures;
  prometheus::Counter& weights_published;
  prometheus::Counter& env_steps_trained;
  prometheus::Counter& skipped_minibatches;  // optimiser steps refused (non-finite, exploding)
  prometheus::Counter& rejected_updates;     // whole updates undone; the version stays
  prometheus::Counter& wait_seconds;         // PPO loop waiting for data: starved
  std::array<prometheus::Counter*, static_cast<size_t>(UpdatePhase::kCount)> phase_seconds{};
  // Credit flow (learner/credits.h).
  prometheus::Counter& credits_granted;
  prometheus::Counter& credits_expired;
  prometheus::Gauge& credits_in_flight;
  prometheus::Gauge& ready_actors;  // idle actors: more than the learner can use
  prometheus::Gauge& batch_transitions;
  OutcomeCounters episodes{};
  prometheus::Histogram& episode_return;
};

}  // namespace hoverslam::learner
