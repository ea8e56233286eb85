// Generalised advantage estimation (Schulman et al. 2016) on [T, N] tensors.
#pragma once

#include <torch/types.h>

namespace hoverslam::learner {

struct GaeResult {
  torch::Tensor advantages;  // [T, N], A_t
  torch::Tensor returns;     // [T, N], A_t + V(s_t): the critic's regression target
};

// All inputs are [T, N] on one device; rewards and values share a floating dtype, and the
// flags may be bool, integer or floating (nonzero = set). next_values[t] is V(obs[t+1]),
// except at truncated steps where it is V(final_obs): the true last observation, because
// obs[t+1] already belongs to the next episode. Terminated steps ignore next_values.
// Results carry no gradient. Throws std::invalid_argument on mismatched shapes.
GaeResult ComputeGae(const torch::Tensor& rewards, const torch::Tensor& values,
                     const torch::Tensor& next_values, const torch::Tensor& terminated,
                     const torch::Tensor& truncated, double gamma, double lambda);

}  // namespace hoverslam::learner
