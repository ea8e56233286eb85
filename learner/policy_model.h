// The learner's actor-critic and its export to the wire format that actors run in Eigen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "common/protocol.h"
#include "learner/obs_normalizer.h"
#include "learner/ppo_config.h"

namespace hoverslam::learner {

// Gaussian policy pi(a | s) = N(mean(s), exp(log_std)^2) with a state-independent log_std, and
// a separate critic V(s); both MLPs read normalised observations. Separate networks keep the
// value loss from pulling on the policy's features. Not thread-safe (a torch module).
class ActorCriticImpl : public torch::nn::Module {
 public:
  // Hidden sizes, activation and initial log_std come from `config`. Orthogonal init: gain
  // sqrt(2) on hidden layers, 0.01 on the policy output (near-zero initial mean, so the
  // first actions are pure exploration), 1.0 on the value output; zero biases.
  ActorCriticImpl(int64_t obs_dim, int64_t act_dim, const PpoConfig& config);

  // obs [B, D] normalised -> action mean [B, A].
  torch::Tensor Mean(const torch::Tensor& obs);
  // obs [B, D] normalised -> V(s) [B].
  torch::Tensor Value(const torch::Tensor& obs);
  // Entropy of the Gaussian, summed over action dimensions: a scalar.
  torch::Tensor Entropy() const;

  // log N(actions; mean, exp(log_std)^2) summed over the last (action) dimension: [B, A] -> [B].
  // `actions` are the raw samples, before any clipping to the env's action range.
  static torch::Tensor LogProb(const torch::Tensor& mean, const torch::Tensor& log_std,
                               const torch::Tensor& actions);

  int64_t obs_dim() const { return obs_dim_; }
  int64_t act_dim() const { return act_dim_; }
  wire::Activation activation() const { return activation_; }
  const torch::Tensor& log_std() const { return log_std_; }  // [A]
  // Policy layers, input to output; the last one is linear (no activation).
  const std::vector<torch::nn::Linear>& policy_layers() const { return policy_layers_; }

 private:
  torch::Tensor Forward(const std::vector<torch::nn::Linear>& layers, torch::Tensor x) const;

  int64_t obs_dim_;
  int64_t act_dim_;
  wire::Activation activation_;
  std::vector<torch::nn::Linear> policy_layers_;
  std::vector<torch::nn::Linear> value_layers_;
  torch::Tensor log_std_;
};
TORCH_MODULE(ActorCritic);

// The policy half of `model` with the normaliser's statistics as a `weights` message: layers
// input to output, w [out, in] row-major (torch::nn::Linear's own layout), float32.
wire::Weights ExportWeights(const ActorCritic& model, const ObsNormalizer& normalizer,
                            uint64_t version, const std::string& run, const std::string& env);

}  // namespace hoverslam::learner
