#include "learner/ppo_config.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace hoverslam::learner {
namespace {

// Written as `!(ok)` by the callers so that NaN fails every check.
void Require(bool ok, const char* field, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("PpoConfig.") + field + " " + what);
}

}  // namespace

double PpoConfig::DesiredKl(uint64_t updates) const {
  if (kl_anneal_updates <= 0) return desired_kl;
  const double f = std::min(1.0, static_cast<double>(updates) / kl_anneal_updates);
  return desired_kl * std::pow(desired_kl_end / desired_kl, f);
}

double PpoConfig::AnnealedLr(uint64_t env_steps, uint64_t total) const {
  if (total == 0) return lr;
  return lr * std::max(0.0, 1.0 - static_cast<double>(env_steps) / static_cast<double>(total));
}

void PpoConfig::Validate() const {
  Require(gamma >= 0 && gamma <= 1, "gamma", "must be in [0, 1]");
  Require(gae_lambda >= 0 && gae_lambda <= 1, "gae_lambda", "must be in [0, 1]");
  Require(reward_scale > 0 && std::isfinite(reward_scale), "reward_scale", "must be > 0");
  Require(clip > 0 && clip < 1, "clip", "must be in (0, 1)");
  Require(behaviour_weight_max >= 1 && std::isfinite(behaviour_weight_max), "behaviour_weight_max",
          "must be >= 1");
  Require(value_clip > 0 && std::isfinite(value_clip), "value_clip", "must be > 0");
  Require(value_coef >= 0 && std::isfinite(value_coef), "value_coef", "must be >= 0");
  Require(std::isfinite(entropy_floor), "entropy_floor", "must be finite");
  Require(entropy_floor_coef >= 0 && std::isfinite(entropy_floor_coef), "entropy_floor_coef",
          "must be >= 0");
  Require(entropy_coef >= 0 && std::isfinite(entropy_coef), "entropy_coef", "must be >= 0");
  Require(lr > 0 && std::isfinite(lr), "lr", "must be > 0");
  Require(desired_kl > 0 && std::isfinite(desired_kl), "desired_kl", "must be > 0");
  Require(desired_kl_end > 0 && std::isfinite(desired_kl_end), "desired_kl_end", "must be > 0");
  Require(kl_anneal_updates >= 0, "kl_anneal_updates", "must be >= 0");
  Require(lr_min > 0 && std::isfinite(lr_min), "lr_min", "must be > 0");
  Require(lr_max >= lr_min && std::isfinite(lr_max), "lr_max", "must be >= lr_min");
  Require(!adaptive_lr || (lr >= lr_min && lr <= lr_max), "lr",
          "must lie in [lr_min, lr_max] when adaptive_lr is on");
  Require(lr_factor > 1 && std::isfinite(lr_factor), "lr_factor", "must be > 1");
  Require(max_grad_norm > 0 && std::isfinite(max_grad_norm), "max_grad_norm", "must be > 0");
  Require(max_grad_norm_skip > 0 && std::isfinite(max_grad_norm_skip), "max_grad_norm_skip",
          "must be > 0");
  Require(epochs >= 1, "epochs", "must be >= 1");
  Require(minibatches >= 1, "minibatches", "must be >= 1");
  for (int size : hidden) Require(size >= 1, "hidden", "sizes must be >= 1");
  Require(activation == wire::Activation::kTanh || activation == wire::Activation::kElu ||
              activation == wire::Activation::kRelu,
          "activation", "must be tanh, elu or relu");
  Require(std::isfinite(init_log_std), "init_log_std", "must be finite");
  Require(obs_clip > 0 && std::isfinite(obs_clip), "obs_clip", "must be > 0");
}

}  // namespace hoverslam::learner
