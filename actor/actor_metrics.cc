#include "actor/actor_metrics.h"

#include <string>

namespace hoverslam {
namespace {

prometheus::Histogram::BucketBoundaries ReturnBuckets() {
  return {-200, -150, -100, -50, -25, 0, 25, 50, 100, 125, 150, 175, 200};
}

prometheus::Histogram::BucketBoundaries LengthBuckets() {
  return {60, 120, 240, 360, 480, 600, 720, 900, 1200, 1800};
}

}  // namespace

ActorMetrics::ActorMetrics(MetricsServer& m)
    : env_steps(m.Counter("hoverslam_actor_env_steps_total", "Env steps taken (all envs).")),
      episode_return(m.Histogram("hoverslam_actor_episode_return",
                                 "Undiscounted return of ended episodes.", ReturnBuckets())),
      episode_length(m.Histogram("hoverslam_actor_episode_length_steps",
                                 "Length of ended episodes in env steps.", LengthBuckets())),
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
          m.Counter("hoverslam_actor_weights_received_total", "Weights messages accepted.")) {
  episodes = CountersByOutcome(m, "hoverslam_actor_episodes_total", "Ended episodes by outcome.");
  weights_rejected = CountersByReason(m, "hoverslam_actor_weights_rejected_total",
                                      "Weights messages rejected, by reason.");
}

}  // namespace hoverslam
