#include "learner/learner_flags.h"

#include "common/cli.h"
#include "common/env_registry.h"

namespace hoverslam::learner {

void AddLearnerFlags(CLI::App& app, LearnerFlags* flags) {
  LearnerConfig& c = flags->config;
  PpoConfig& p = c.ppo;
  AddFlag(app, "--bind", &c.bind, "interface to bind (* = all)");
  AddFlag(app, "--trajectory-port", &c.trajectory_port, "trajectory (ROUTER) port");
  AddFlag(app, "--weights-port", &c.weights_port, "weights (PUB) port");
  AddFlag(app, "--metrics-port", &c.metrics_port, "Prometheus /metrics and /healthz port (0: off)");
  AddMetricsBindFlag(app, &c.metrics_bind);
  AddHealthFlag(app, &c.health_timeout_s);
  AddFlag(app, "--env", &c.env, "the task trained: " + EnvNames());
  AddFlag(app, "--device", &c.device, "auto, cpu or cuda");
  AddFlag(app, "--threads", &c.threads, "torch intra-op threads (0: LibTorch's default)");
  AddFlag(app, "--batch-transitions", &c.batch_transitions, "transitions per PPO update");
  AddFlag(app, "--max-policy-lag", &c.max_policy_lag, "oldest policy version accepted, behind");
  AddFlag(app, "--queue-capacity", &c.queue_capacity,
          "trajectories held for training (credits keep it to about one batch)");
  AddFlag(app, "--grant-timeout", &c.grant_timeout_s,
          "seconds before an unanswered grant is given to another actor");
  AddFlag(app, "--checkpoint-dir", &c.checkpoint_dir, "checkpoint directory (empty: none)");
  AddFlag(app, "--checkpoint-every", &c.checkpoint_every, "versions between checkpoints");
  AddFlag(app, "--keep-checkpoints", &c.keep_checkpoints, "newest checkpoints kept");
  AddFlag(app, "--max-versions", &c.max_versions, "stop at this version (0: never)");
  AddFlag(app, "--max-env-steps", &c.max_env_steps, "stop after this many transitions (0: never)");
  AddFlag(app, "--run-id", &c.run_id, "training run id (default: the checkpoint's, else new)");
  AddFlag(app, "--republish-interval", &c.republish_s, "seconds between weight re-publishes");
  AddFlag(app, "--seed", &c.seed, "torch seed");
  AddFlag(app, "--gamma", &p.gamma, "discount");
  AddFlag(app, "--gae-lambda", &p.gae_lambda, "GAE lambda");
  AddFlag(app, "--reward-scale", &p.reward_scale, "rewards are multiplied by this before GAE");
  AddFlag(app, "--clip", &p.clip, "surrogate clip epsilon");
  AddFlag(app, "--behaviour-weight-max", &p.behaviour_weight_max,
          "truncation of the pi_prox / pi_behaviour weight (decoupled PPO)");
  AddFlag(app, "--value-clip", &p.value_clip, "|V - V_old| limit, in scaled return units");
  AddFlag(app, "--clip-value", &p.clip_value, "clip the value loss (true/false)");
  AddFlag(app, "--mirror", &p.mirror,
          "also train on each sample's mirror image about the pad (true/false)");
  AddFlag(app, "--value-coef", &p.value_coef, "value loss weight");
  AddFlag(app, "--entropy-coef", &p.entropy_coef, "entropy bonus weight");
  AddFlag(app, "--entropy-floor", &p.entropy_floor, "entropy (nats) below which the floor pushes");
  AddFlag(app, "--entropy-floor-coef", &p.entropy_floor_coef, "weight of the entropy floor");
  AddFlag(app, "--lr", &p.lr, "initial Adam learning rate");
  AddFlag(app, "--adaptive-lr", &p.adaptive_lr, "adapt lr to the KL (true/false)");
  AddFlag(app, "--lr-anneal", &p.lr_anneal,
          "fixed lr falls linearly to 0 over --max-env-steps (true/false)");
  AddFlag(app, "--desired-kl", &p.desired_kl, "KL(pi_prox || pi) target of the adaptive lr");
  AddFlag(app, "--desired-kl-end", &p.desired_kl_end, "KL target at the end of the anneal");
  AddFlag(app, "--kl-anneal-updates", &p.kl_anneal_updates,
          "versions over which the KL target goes from --desired-kl to --desired-kl-end (0: off)");
  AddFlag(app, "--lr-min", &p.lr_min, "adaptive lr lower bound");
  AddFlag(app, "--lr-max", &p.lr_max, "adaptive lr upper bound");
  AddFlag(app, "--max-grad-norm", &p.max_grad_norm, "global gradient-norm clip");
  AddFlag(app, "--epochs", &p.epochs, "passes over each batch");
  AddFlag(app, "--minibatches", &p.minibatches, "minibatches per pass");
  AddFlag(app, "--normalize-advantages", &p.normalize_advantages, "per-batch (true/false)");
  AddFlag(app, "--init-log-std", &p.init_log_std, "initial log standard deviation");
  AddFlag(app, "--obs-clip", &p.obs_clip, "clip of normalised observations");
  AddFlag(app, "--hidden", &p.hidden, "hidden layer sizes, e.g. 64,64")->delimiter(',');
  AddFlag(app, "--activation", &flags->activation, "hidden activation: tanh, elu or relu")
      ->check(CLI::IsMember({"tanh", "elu", "relu"}));
  AddZmqFlags(app, &c.zmq);
  AddFlag(app, "--curve-secret-key-file", &c.curve.secret_key_file,
          "the learner's CURVE secret key (Z85, mode 0600; public key derived): CURVE on both "
          "channels, needs --curve-client-keys");
  AddFlag(app, "--curve-client-keys", &c.curve.client_keys_dir,
          "directory of authorized client keys, one Z85 public key per *.pub file; re-read "
          "every second, so keys rotate without a restart");
}

std::vector<std::string> FinishLearnerFlags(CLI::App& app, LearnerFlags* flags) {
  std::vector<std::string> applied;
  for (const EnvEntry& e : EnvRegistry()) {
    if (e.name == flags->config.env) applied = ApplyFlagDefaults(app, e.learner_defaults);
  }
  flags->config.ppo.activation = *wire::ActivationFromName(flags->activation);
  return applied;
}

}  // namespace hoverslam::learner
