// Hyper-parameters of the PPO learner. Defaults follow DESIGN.md (rsl_rl / CleanRL names).
#pragma once

#include <cstdint>
#include <vector>

#include "common/protocol.h"

namespace hoverslam::learner {

struct PpoConfig {
  // Returns and advantages.
  // 60 Hz control: 0.998 is an 8 s horizon, long enough to carry a touchdown's reward back
  // through the descent (0.99 would be 1.7 s).
  float gamma = 0.998f;  // discount; the env's reward shaping must use the same value
  // GAE lambda: 0 is one-step TD, 1 is Monte Carlo. 0.98, not 0.95: at 60 Hz, 0.95 averages
  // over 20 steps (a third of a second); in wind 0.98 landed 56% of evaluations after 1.4M env
  // steps where 0.95 had 26% after 1.7M (README design notes).
  float gae_lambda = 0.98f;
  // Rewards are multiplied by this before GAE so returns are O(1): the value clip then
  // bounds a real step, and the value loss does not swamp the policy loss.
  float reward_scale = 0.01f;

  // Loss.
  float clip = 0.2f;  // surrogate clip epsilon, around the proximal policy
  // Decoupled PPO (Hilton et al. 2021): the ratio is clipped around the policy at the start of
  // the update (the proximal policy), and each sample is weighted by pi_prox / pi_behaviour,
  // the off-policy correction for data collected by older weights, truncated at this.
  float behaviour_weight_max = 2.0f;
  bool clip_value = true;   // clip V around the old V like the policy ratio (CleanRL)
  float value_clip = 0.2f;  // |V - V_old| limit, in return units (CleanRL reuses clip)
  float value_coef = 1.0f;  // weight of v_loss in the total loss
  // Entropy bonus. 0.001, not 0.005: at 0.005 the state-independent std grew through training
  // (0.5 -> 1.0 in 10M env steps; actions clipped to [-1, 1] hide the cost) and landing in wind
  // oscillated. With the mirror, 0.001 landed a median 96.2% of held-out episodes in wind over
  // three train_bench runs, against 86.8% with none (README design notes).
  float entropy_coef = 0.001f;
  // A floor instead of a bonus: below entropy_floor nats the loss adds
  // entropy_floor_coef * (entropy_floor - entropy), pushing the std back up; above it, nothing.
  // 0 coef: no floor.
  float entropy_floor = 0.4f;        // nats over the action dims: 0.4 is std 0.30 in each of 2
  float entropy_floor_coef = 0.0f;   // weight of the floor's penalty
  bool normalize_advantages = true;  // advantages to zero mean, unit std over each batch
  // Train on each sample's mirror image too, where the task has one (Trainer::Augment).
  bool mirror = true;

  // Optimiser and adaptive-KL learning-rate schedule (rsl_rl).
  double lr = 3e-4;         // Adam learning rate at start
  bool adaptive_lr = true;  // adapt lr to the KL after every minibatch (else constant)
  // With a fixed lr: fall linearly from lr to 0 over the run's --max-env-steps, so the last
  // updates polish rather than move the policy that a bounded run ends with (CleanRL's
  // anneal_lr). The learner sets it before each update from the env steps trained; a run
  // without a step budget, or with the adaptive lr, ignores it (and says so at start).
  bool lr_anneal = false;
  // Target KL(pi_prox || pi) per minibatch, analytic over the minibatch's states (rsl_rl).
  // 0.005, not 0.01: with 8 minibatches x 10 epochs the policy moves up to 80 times an update,
  // and at 0.01 it oscillated around 60% landed in wind (README design notes).
  double desired_kl = 0.005;
  // Annealed geometrically from desired_kl to desired_kl_end over the first kl_anneal_updates
  // policy versions (0: constant): a constant target keeps the policy moving as fast forever.
  double desired_kl_end = 0.005;
  int kl_anneal_updates = 0;
  double lr_min = 1e-5;        // lower bound of the adaptive lr
  double lr_max = 1e-2;        // upper bound of the adaptive lr
  double lr_factor = 1.5;      // lr /= factor when kl > 2 desired, *= factor when kl < desired / 2
  float max_grad_norm = 1.0f;  // global gradient-norm clip
  // A minibatch whose gradient norm (before the clip) is above this, or not finite, is
  // skipped: 1000x the clip is no step a healthy batch asks for, and the clip would only
  // turn an exploding gradient into a full step in a meaningless direction.
  float max_grad_norm_skip = 1e3f;

  // Batching.
  // 80 optimiser steps per batch of 16,384, not 20: the learner re-uses each sample 4x as
  // often, for fewer env steps to a landing policy (README design notes).
  int epochs = 10;      // passes over each batch
  int minibatches = 8;  // minibatches per pass

  // Model.
  std::vector<int> hidden = {64, 64};                     // hidden sizes, policy and critic
  wire::Activation activation = wire::Activation::kTanh;  // on hidden layers only
  float init_log_std = -0.5f;  // std 0.61 at start: most samples stay inside the [-1, 1] clip
  float obs_clip = 10.0f;      // normalised observations are clipped to +- obs_clip

  // The adaptive lr's KL target after `updates` policy versions.
  double DesiredKl(uint64_t updates) const;
  // The annealed lr after `env_steps` of `total`: lr x (1 - env_steps / total), at least 0.
  double AnnealedLr(uint64_t env_steps, uint64_t total) const;

  // Throws std::invalid_argument naming the first bad field.
  void Validate() const;
};

}  // namespace hoverslam::learner
