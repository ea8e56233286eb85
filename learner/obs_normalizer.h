// Running observation statistics and the normalisation the policy sees.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace hoverslam::learner {

// Not thread-safe: the learner thread updates it and reads it between updates.
class ObsNormalizer {
 public:
  // Everything a checkpoint needs to restore the statistics exactly.
  struct State {
    torch::Tensor mean;  // [D] float64
    torch::Tensor var;   // [D] float64, population variance
    double count = 0;    // observations merged so far
  };

  // Starts at mean 0, var 1, count 0: the identity (up to the clip) before any data.
  explicit ObsNormalizer(int64_t obs_dim, float clip = 10.0f);

  // Merges a batch [B, D] (any floating dtype or device) into the running statistics,
  // exactly as if every observation seen so far had been one batch (Chan et al. 1979).
  void Update(const torch::Tensor& batch);

  // clamp((obs - mean) / sqrt(var + 1e-8), -clip, clip), in obs's dtype and device; [..., D].
  torch::Tensor Normalize(const torch::Tensor& obs) const;

  int64_t obs_dim() const { return obs_dim_; }
  float clip() const { return clip_; }
  double count() const { return count_; }
  const torch::Tensor& mean() const { return mean_; }  // [D] float64, CPU
  const torch::Tensor& var() const { return var_; }    // [D] float64, CPU

  State state() const;
  // Throws std::invalid_argument when the state does not fit this obs_dim or is invalid.
  void Load(const State& state);

 private:
  int64_t obs_dim_;
  float clip_;
  double count_ = 0;
  torch::Tensor mean_;
  torch::Tensor var_;
};

}  // namespace hoverslam::learner
