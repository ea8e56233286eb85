#include "learner/learner_metrics.h"

#include <string>

#include "common/episode_buckets.h"

namespace hoverslam::learner {

const char* UpdatePhaseName(UpdatePhase phase) {
  switch (phase) {
    case UpdatePhase::kWait:
      return "wait";
    case UpdatePhase::kBatch:
      return "batch";
    case UpdatePhase::kOptimise:
      return "optimise";
    case UpdatePhase::kPublish:
      return "publish";
    case UpdatePhase::kCheckpoint:
      return "checkpoint";
    case UpdatePhase::kCount:
      break;
  }
  return "unknown";
}

prometheus::Histogram::BucketBoundaries PolicyLagBuckets(uint64_t max_policy_lag) {
  prometheus::Histogram::BucketBoundaries buckets;
  for (uint64_t lag = 0; lag < max_policy_lag; lag = lag < 8 ? lag + 1 : 2 * lag) {
    buckets.push_back(static_cast<double>(lag));
  }
  buckets.push_back(static_cast<double>(max_policy_lag));
  return buckets;
}

LearnerMetrics::LearnerMetrics(MetricsServer& m, uint64_t max_lag, const EnvSpec& env)
    : transitions_received(m.Counter("hoverslam_learner_transitions_received_total",
                                     "Transitions in accepted trajectories.")),
      trajectories_received(m.Counter("hoverslam_learner_trajectories_received_total",
                                      "Trajectory messages accepted.")),
      policy_version(m.Gauge("hoverslam_learner_policy_version", "Version of the newest policy.")),
      policy_lag(m.Histogram("hoverslam_learner_policy_lag",
                             "Learner version minus the version that collected the data, per "
                             "trajectory trained on.",
                             PolicyLagBuckets(max_lag))),
      max_policy_lag(m.Gauge("hoverslam_learner_max_policy_lag",
                             "Largest policy lag accepted (--max-policy-lag); older data is "
                             "rejected as stale.")),
      queue_depth(m.Gauge("hoverslam_learner_queue_depth", "Trajectories waiting to be trained.")),
      update_duration(m.Histogram("hoverslam_learner_update_duration_seconds",
                                  "Wall time of one PPO update (all epochs).",
                                  {0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10})),
      pg_loss(m.Gauge("hoverslam_learner_pg_loss", "Clipped surrogate loss, last update.")),
      v_loss(m.Gauge("hoverslam_learner_v_loss", "Value loss, last update.")),
      entropy(m.Gauge("hoverslam_learner_entropy", "Policy entropy, last update.")),
      approx_kl(m.Gauge("hoverslam_learner_approx_kl",
                        "KL(pi_prox || pi) over the last update's minibatches (pi_prox: the policy "
                        "at its start).")),
      clipfrac(m.Gauge("hoverslam_learner_clip_fraction", "Fraction of clipped ratios.")),
      explained_var(m.Gauge("hoverslam_learner_explained_variance",
                            "Explained variance of the critic on the last batch.")),
      learning_rate(m.Gauge("hoverslam_learner_learning_rate", "Adam learning rate.")),
      actors_seen(m.Gauge("hoverslam_learner_actors_seen",
                          "Distinct actors that sent accepted data in the last 60 s.")),
      checkpoints_written(
          m.Counter("hoverslam_learner_checkpoints_written_total", "Checkpoints written.")),
      checkpoint_failures(m.Counter("hoverslam_learner_checkpoint_failures_total",
                                    "Checkpoint writes that failed (training went on).")),
      weights_published(m.Counter("hoverslam_learner_weights_published_total",
                                  "Weights messages published (new and repeated).")),
      env_steps_trained(m.Counter("hoverslam_learner_env_steps_trained_total",
                                  "Transitions used in PPO updates.")),
      skipped_minibatches(m.Counter(
          "hoverslam_learner_skipped_minibatches_total",
          "Minibatches whose optimiser step was skipped: a non-finite loss, or a gradient norm "
          "non-finite or above max_grad_norm_skip.")),
      rejected_updates(m.Counter("hoverslam_learner_rejected_updates_total",
                                 "PPO updates undone (every minibatch skipped, or a non-finite "
                                 "result): the weights and version stayed as they were.")),
      wait_seconds(m.Counter("hoverslam_learner_wait_seconds_total",
                             "Seconds the PPO loop waited for data (its rate is the fraction of "
                             "time the learner is starved).")),
      credits_granted(m.Counter("hoverslam_learner_credits_granted_total",
                                "Rollouts asked of idle actors (grants sent).")),
      credits_expired(m.Counter("hoverslam_learner_credits_expired_total",
                                "Grants unanswered within --grant-timeout-s (asked again of "
                                "another actor; a late answer is still taken).")),
      credits_in_flight(m.Gauge("hoverslam_learner_credits_in_flight",
                                "Grants sent and neither answered nor expired.")),
      ready_actors(m.Gauge("hoverslam_learner_ready_actors",
                           "Idle actors waiting for a grant (actors beyond what the learner "
                           "can use).")),
      batch_transitions(m.Gauge("hoverslam_learner_batch_transitions",
                                "Transitions per PPO update: the learner asks for this much "
                                "ahead of training.")),
      episode_return(m.Histogram("hoverslam_learner_episode_return",
                                 "Return of episodes reported in accepted trajectories.",
                                 EpisodeReturnBuckets(env))) {
  max_policy_lag.Set(static_cast<double>(max_lag));
  phase_seconds = CountersByEnum<UpdatePhase>(
      m, "hoverslam_learner_update_phase_seconds_total",
      "Seconds the PPO loop spent in each phase: waiting for data, building the batch (values, "
      "GAE), optimising, publishing weights, checkpointing.",
      "phase", UpdatePhaseName);
  rejected = CountersByReason(m, "hoverslam_learner_rejected_total",
                              "Messages from actors rejected, by reason.");
  episodes = CountersByOutcome(m, "hoverslam_learner_episodes_total",
                               "Episodes reported in accepted trajectories, by outcome.");
}

}  // namespace hoverslam::learner
