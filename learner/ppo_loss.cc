#include "learner/ppo_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hoverslam::learner {

PpoLossResult PpoLoss(const torch::Tensor& new_logp, const torch::Tensor& old_logp,
                      const torch::Tensor& advantages, const torch::Tensor& values,
                      const torch::Tensor& old_values, const torch::Tensor& returns,
                      const torch::Tensor& entropy, const PpoConfig& config,
                      const torch::Tensor& weight, const torch::Tensor& stats_rows) {
  const double eps = config.clip;
  // The batch side is data: only new_logp, values and entropy may carry gradients.
  const torch::Tensor adv = advantages.detach();
  const torch::Tensor ret = returns.detach();
  const torch::Tensor old_v = old_values.detach();

  // r_t = pi(a_t | s_t) / pi_old(a_t | s_t), with log r_t in [-kMaxLogRatio, kMaxLogRatio]
  const torch::Tensor log_ratio =
      torch::clamp(new_logp - old_logp.detach(), -kMaxLogRatio, kMaxLogRatio);
  const torch::Tensor ratio = log_ratio.exp();

  // L^CLIP = E[min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t)]; minimise its negative, so
  // min becomes max. Where the clipped term wins, the gradient through r_t is zero.
  const torch::Tensor pg_loss1 = -adv * ratio;
  const torch::Tensor pg_loss2 = -adv * torch::clamp(ratio, 1 - eps, 1 + eps);
  // Decoupled: E_behaviour[w_t max(...)], w_t = pi_old / pi_behaviour.
  torch::Tensor pg_per_sample = torch::max(pg_loss1, pg_loss2);
  if (weight.defined()) pg_per_sample = pg_per_sample * weight.detach();
  const torch::Tensor pg_loss = pg_per_sample.mean();

  // L^V = 0.5 * E[max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)], c = value_clip: the
  // critic, like the policy, gains nothing from moving further than c from its old prediction.
  torch::Tensor v_loss;
  if (config.clip_value) {
    const torch::Tensor v_loss_unclipped = (values - ret).square();
    const double c = config.value_clip;
    const torch::Tensor v_clipped = old_v + torch::clamp(values - old_v, -c, c);
    const torch::Tensor v_loss_clipped = (v_clipped - ret).square();
    v_loss = 0.5 * torch::max(v_loss_unclipped, v_loss_clipped).mean();
  } else {
    v_loss = 0.5 * (values - ret).square().mean();
  }

  const torch::Tensor entropy_mean = entropy.mean();
  // L = L^pg + c_v L^V - c_e H + c_f max(0, H_floor - H)
  torch::Tensor loss = pg_loss + config.value_coef * v_loss - config.entropy_coef * entropy_mean;
  if (config.entropy_floor_coef > 0) {
    loss = loss + config.entropy_floor_coef * torch::relu(config.entropy_floor - entropy_mean);
  }

  torch::NoGradGuard no_grad;
  // KL(old || new) ~ E[(r - 1) - log r] (http://joschu.net/blog/kl-approx.html): >= 0, low
  // variance.
  const torch::Tensor approx_kl = MeanOver((ratio - 1) - log_ratio, stats_rows);
  const torch::Tensor clipfrac =
      MeanOver(((ratio - 1).abs() > eps).to(ratio.scalar_type()), stats_rows);
  return {loss, pg_loss, v_loss, entropy_mean, approx_kl, clipfrac};
}

torch::Tensor MeanOver(const torch::Tensor& x, const torch::Tensor& rows) {
  if (!rows.defined()) return x.mean();
  return torch::where(rows, x, torch::zeros_like(x)).sum() / rows.sum().clamp_min(1);
}

torch::Tensor BehaviourWeight(const torch::Tensor& prox_logp, const torch::Tensor& behaviour_logp,
                              double max_weight) {
  torch::NoGradGuard no_grad;
  // A behaviour log-probability kMaxLogRatio nats or more from the proximal policy's belongs
  // to no policy near this one (a corrupt or ancient sample): weight 0 leaves it out.
  const torch::Tensor log_w = prox_logp - behaviour_logp;
  const torch::Tensor w = log_w.clamp(-kMaxLogRatio, kMaxLogRatio).exp().clamp_max(max_weight);
  return torch::where(log_w.abs() < kMaxLogRatio, w, torch::zeros_like(w));
}

torch::Tensor GaussianKl(const torch::Tensor& p_mean, const torch::Tensor& p_log_std,
                         const torch::Tensor& q_mean, const torch::Tensor& q_log_std) {
  // KL = log(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2
  const torch::Tensor var_p = (2 * p_log_std).exp(), var_q = (2 * q_log_std).exp();
  return (q_log_std - p_log_std + (var_p + (p_mean - q_mean).square()) / (2 * var_q) - 0.5).sum(-1);
}

torch::Tensor NormalizeAdvantages(const torch::Tensor& advantages) {
  torch::NoGradGuard no_grad;
  // Population std (unbiased=false) so a batch of one gives 0 rather than NaN.
  return (advantages - advantages.mean()) / (advantages.std(/*unbiased=*/false) + 1e-8);
}

double ExplainedVariance(const torch::Tensor& values, const torch::Tensor& returns) {
  torch::NoGradGuard no_grad;
  const double var_returns = returns.var(/*unbiased=*/false).item<double>();
  if (!(var_returns > 0)) return std::numeric_limits<double>::quiet_NaN();
  const double var_error = (returns - values).var(/*unbiased=*/false).item<double>();
  return 1.0 - var_error / var_returns;
}

double AdaptiveLr(double lr, double kl, double desired_kl, const PpoConfig& config) {
  if (std::isfinite(kl)) {
    if (kl > 2.0 * desired_kl) {
      lr /= config.lr_factor;
    } else if (kl > 0.0 && kl < 0.5 * desired_kl) {
      // kl == 0 means the policy has not moved yet (the first minibatch of an update):
      // that says nothing about the step size, so it must not raise lr.
      lr *= config.lr_factor;
    }
  }
  return std::clamp(lr, config.lr_min, config.lr_max);
}

}  // namespace hoverslam::learner
