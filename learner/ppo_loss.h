// The PPO objective (Schulman et al. 2017) in CleanRL's form, and rsl_rl's adaptive-KL schedule.
#pragma once

#include <torch/types.h>

#include "learner/ppo_config.h"

namespace hoverslam::learner {

// log(pi / pi_old) is clamped to +-kMaxLogRatio before exp: a behaviour log-probability far
// from the current one (an absurd value, or a very old policy) gives ratio e^20 = 4.9e8 at
// most instead of inf, and the clamp's zero gradient there leaves such samples out of the step.
constexpr double kMaxLogRatio = 20.0;

// Scalars. loss, pg_loss, v_loss and entropy carry gradients; approx_kl and clipfrac do not.
struct PpoLossResult {
  torch::Tensor loss;       // pg_loss + value_coef * v_loss - entropy_coef * entropy
                            // + entropy_floor_coef * max(0, entropy_floor - entropy)
  torch::Tensor pg_loss;    // clipped surrogate, negated so that lower is better
  torch::Tensor v_loss;     // 0.5 * squared error (within value_clip of old_values if clip_value)
  torch::Tensor entropy;    // mean policy entropy
  torch::Tensor approx_kl;  // mean of (ratio - 1) - log(ratio), an unbiased KL(old || new) estimate
  torch::Tensor clipfrac;   // fraction of samples with |ratio - 1| > clip
};

// Per-sample inputs are [B]: log-probabilities of the taken actions under the current and the
// old policy (the ratio's denominator: the proximal policy in decoupled PPO), advantages
// (already normalised if wanted), the current critic's values, the values recorded when the
// batch was built, and the GAE returns. `entropy` is [B] or a scalar (a state-independent std
// gives one entropy for every state). `weight` [B], if defined, multiplies each sample's
// surrogate: pi_old / pi_behaviour when the data came from another policy. `stats_rows` [B]
// bool, if defined, are the rows approx_kl and clipfrac are read over (the loss takes all).
PpoLossResult PpoLoss(const torch::Tensor& new_logp, const torch::Tensor& old_logp,
                      const torch::Tensor& advantages, const torch::Tensor& values,
                      const torch::Tensor& old_values, const torch::Tensor& returns,
                      const torch::Tensor& entropy, const PpoConfig& config,
                      const torch::Tensor& weight = {}, const torch::Tensor& stats_rows = {});

// The mean of `x` [B] over the rows where `rows` [B] is true (0 if none), or over all rows when
// `rows` is undefined.
torch::Tensor MeanOver(const torch::Tensor& x, const torch::Tensor& rows);

// w = min(pi_prox / pi_behaviour, max_weight) per sample, without gradient: decoupled PPO's
// correction for data that older weights (or older observation statistics) collected. 0 where
// |log(pi_prox / pi_behaviour)| >= kMaxLogRatio: such a sample is left out.
torch::Tensor BehaviourWeight(const torch::Tensor& prox_logp, const torch::Tensor& behaviour_logp,
                              double max_weight);

// KL(p || q) of diagonal Gaussians, summed over the action dimension: [B, A] means and [A]
// log standard deviations -> [B]. Analytic, so it carries no sampling noise (rsl_rl's
// adaptive schedule reads it); in float32, values under ~1e-7 read as 0.
torch::Tensor GaussianKl(const torch::Tensor& p_mean, const torch::Tensor& p_log_std,
                         const torch::Tensor& q_mean, const torch::Tensor& q_log_std);

// (A - mean(A)) / (std(A) + 1e-8) over the whole tensor, without gradient.
torch::Tensor NormalizeAdvantages(const torch::Tensor& advantages);

// 1 - Var(returns - values) / Var(returns): 1 is a perfect critic, <= 0 is no better than
// a constant. NaN when the returns do not vary.
double ExplainedVariance(const torch::Tensor& values, const torch::Tensor& returns);

// Next learning rate: lr / factor if kl > 2 desired_kl, lr * factor if 0 < kl < desired_kl / 2,
// else lr; always bounded to [lr_min, lr_max]. A non-finite kl leaves lr unchanged.
// desired_kl is passed apart from config: the trainer reads it off the anneal
// (PpoConfig::DesiredKl).
double AdaptiveLr(double lr, double kl, double desired_kl, const PpoConfig& config);

}  // namespace hoverslam::learner
