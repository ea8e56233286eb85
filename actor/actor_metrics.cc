#include "actor/actor_metrics.h"

#include <string>

#include "common/episode_buckets.h"

namespace hoverslam {

const char* ChannelName(Channel channel) {
  return channel == Channel::kTrajectories ? "trajectories" : "weights";
}

ActorMetrics::ActorMetrics(MetricsServer& m, const EnvSpec& env)
    : env_steps(m.Counter("hoverslam_actor_env_steps_total", "Env steps taken (all envs).")),
      episode_return(m.Histogram("hoverslam_actor_episode_return",
                                 "Undiscounted return of ended episodes.",
                                 EpisodeReturnBuckets(env))),
      episode_length(m.Histogram("hoverslam_actor_episode_length_steps",
                                 "Length of ended episodes in env steps.",
                                 EpisodeLengthBuckets(env.max_episode_steps))),
      policy_version(m.Gauge("hoverslam_actor_policy_version", "Version of the weights in use.")),
      num_envs(m.Gauge("hoverslam_actor_num_envs", "Envs stepped by this actor.")),
      trajectories_sent(
          m.Counter("hoverslam_actor_trajectories_sent_total", "Trajectory messages sent.")),
      bytes_sent(m.Counter("hoverslam_actor_sent_bytes_total", "Bytes of trajectories sent.")),
      send_blocked_seconds(m.Counter("hoverslam_actor_send_blocked_seconds_total",
                                     "Time spent waiting for the learner to take a message.")),
      inference_seconds(m.Counter("hoverslam_actor_inference_seconds_total",
                                  "Time in the policy forward pass and sampling.")),
      env_step_seconds(
          m.Counter("hoverslam_actor_env_step_seconds_total", "Time stepping the envs.")),
      weights_received(
          m.Counter("hoverslam_actor_weights_received_total", "Weights messages accepted.")),
      collect_seconds(m.Counter("hoverslam_actor_collect_seconds_total",
                                "Time collecting rollouts (envs and policy): its rate is the "
                                "actor's busy fraction.")),
      idle_seconds(m.Counter("hoverslam_actor_idle_seconds_total",
                             "Time waiting for the learner to grant a rollout.")),
      weights_wait_seconds(m.Counter("hoverslam_actor_weights_wait_seconds_total",
                                     "Time granted but waiting for the granted weights version.")),
      rollout_transitions(m.Gauge("hoverslam_actor_rollout_transitions",
                                  "Transitions per rollout (steps x envs).")),
      grants_received(m.Counter("hoverslam_actor_grants_received_total",
                                "Grants (rollouts asked for) received from the learner.")),
      rollouts_discarded(m.Counter("hoverslam_actor_rollouts_discarded_total",
                                   "Rollouts not sent: the learner that granted them went away.")),
      weights_age(m.Gauge("hoverslam_actor_weights_age_seconds",
                          "Seconds since the policy version in use last changed (since start "
                          "before the first).")),
      disconnects(m.Counter("hoverslam_actor_disconnects_total",
                            "Connections to the learner lost (heartbeat timeout, peer gone).")) {
  for (int c = 0; c < kNumChannels; ++c) {
    const std::string channel = ChannelName(static_cast<Channel>(c));
    connected[c] = &m.Gauge("hoverslam_actor_connected",
                            "1 while the connection to the learner is up (handshake done).",
                            {{"channel", channel}});
    auth_failures[c] = CountersByEnum<HandshakeFailure>(
        m, "hoverslam_actor_auth_failures_total",
        "Handshakes the learner refused (key not authorized, CURVE at one end only).", "reason",
        HandshakeFailureName, {{"channel", channel}});
  }
  episodes = CountersByOutcome(m, "hoverslam_actor_episodes_total", "Ended episodes by outcome.");
  weights_rejected = CountersByReason(m, "hoverslam_actor_weights_rejected_total",
                                      "Weights messages rejected, by reason.");
  grants_rejected = CountersByReason(m, "hoverslam_actor_grants_rejected_total",
                                     "Grant messages rejected, by reason.");
}

}  // namespace hoverslam
