// The actor's Prometheus metrics, resolved once so the loop only increments.
#pragma once

#include <array>
#include <memory>

#include "common/connection_monitor.h"
#include "common/env.h"
#include "common/labelled_metrics.h"

namespace hoverslam {

// The actor's two connections to the learner (the `channel` label).
enum class Channel { kTrajectories, kWeights, kCount };
constexpr int kNumChannels = static_cast<int>(Channel::kCount);
const char* ChannelName(Channel channel);

// Thread-safe (prometheus-cpp metrics are); owned by the actor loop.
struct ActorMetrics {
  // Episode-length buckets end at the env's time limit.
  ActorMetrics(MetricsServer& server, const EnvSpec& env);

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
  // Credit flow: where the actor's time goes besides collecting, and its grants.
  prometheus::Counter& collect_seconds;       // stepping envs and the policy: busy
  prometheus::Counter& idle_seconds;          // waiting for a grant: not needed
  prometheus::Counter& weights_wait_seconds;  // granted, waiting for the granted version
  prometheus::Gauge& rollout_transitions;     // T * N
  prometheus::Counter& grants_received;
  prometheus::Counter& rollouts_discarded;  // collected for a learner that went away
  ReasonCounters grants_rejected{};
  OutcomeCounters episodes{};
  ReasonCounters weights_rejected{};
  // The learner's liveness, seen from here. Heartbeats are answered by ZeroMQ's I/O
  // thread even when the learner's loop is stuck, so the age of the weights is the
  // watchdog: it grows whenever no new version arrives.
  prometheus::Gauge& weights_age;
  // Connections lost (heartbeat timeout, learner gone), both channels.
  prometheus::Counter& disconnects;
  std::array<prometheus::Gauge*, kNumChannels> connected{};  // 1 while the handshake is done
  // The learner refused our handshake, by channel and reason.
  std::array<std::array<prometheus::Counter*, static_cast<int>(HandshakeFailure::kCount)>,
             kNumChannels>
      auth_failures{};
};

}  // namespace hoverslam
