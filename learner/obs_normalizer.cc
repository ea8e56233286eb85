#include "learner/obs_normalizer.h"

#include <cmath>
#include <stdexcept>

#include "common/protocol.h"

namespace hoverslam::learner {
namespace {

const torch::TensorOptions kStatsOptions = torch::TensorOptions().dtype(torch::kFloat64);

}  // namespace

ObsNormalizer::ObsNormalizer(int64_t obs_dim, float clip)
    : obs_dim_(obs_dim),
      clip_(clip),
      mean_(torch::zeros({obs_dim}, kStatsOptions)),
      var_(torch::ones({obs_dim}, kStatsOptions)) {
  if (obs_dim < 1) throw std::invalid_argument("ObsNormalizer: obs_dim must be >= 1");
  if (!(clip > 0)) throw std::invalid_argument("ObsNormalizer: clip must be > 0");
}

void ObsNormalizer::Update(const torch::Tensor& batch) {
  if (batch.dim() != 2 || batch.size(1) != obs_dim_) {
    throw std::invalid_argument("ObsNormalizer::Update: batch must be [B, obs_dim]");
  }
  if (batch.size(0) == 0) return;
  torch::NoGradGuard no_grad;
  // float64 on the CPU: the count grows into the millions and float32 sums drift.
  const torch::Tensor x = batch.detach().to(torch::kCPU, torch::kFloat64);
  const double n = static_cast<double>(x.size(0));
  const torch::Tensor batch_mean = x.mean(0);
  const torch::Tensor batch_var = x.var(0, /*unbiased=*/false);

  // Chan et al.: with delta = mean_b - mean_a and n = n_a + n_b,
  //   mean = mean_a + delta * n_b / n
  //   M2   = M2_a + M2_b + delta^2 * n_a * n_b / n,  var = M2 / n
  const double total = count_ + n;
  const torch::Tensor delta = batch_mean - mean_;
  const torch::Tensor m2 = var_ * count_ + batch_var * n + delta.square() * (count_ * n / total);
  mean_ = mean_ + delta * (n / total);
  var_ = m2 / total;
  count_ = total;
}

torch::Tensor ObsNormalizer::Normalize(const torch::Tensor& obs) const {
  // Round the statistics to obs's dtype first, then add the wire protocol's epsilon: the same
  // operations, in the same precision, that an actor applies to the exported float32 values.
  const torch::Tensor mean = mean_.to(obs.options());
  const torch::Tensor std = (var_.to(obs.options()) + wire::kObsVarEpsilon).sqrt();
  return torch::clamp((obs - mean) / std, -clip_, clip_);
}

ObsNormalizer::State ObsNormalizer::state() const { return {mean_.clone(), var_.clone(), count_}; }

void ObsNormalizer::Load(const State& state) {
  const auto fits = [this](const torch::Tensor& t) {
    return t.defined() && t.dim() == 1 && t.size(0) == obs_dim_;
  };
  if (!fits(state.mean) || !fits(state.var)) {
    throw std::invalid_argument("ObsNormalizer::Load: mean and var must be [obs_dim]");
  }
  if (!(state.count >= 0) || !std::isfinite(state.count)) {
    throw std::invalid_argument("ObsNormalizer::Load: count must be finite and >= 0");
  }
  const torch::Tensor mean = state.mean.detach().to(torch::kCPU, torch::kFloat64).clone();
  const torch::Tensor var = state.var.detach().to(torch::kCPU, torch::kFloat64).clone();
  if (!mean.isfinite().all().item<bool>() || !var.isfinite().all().item<bool>() ||
      (var < 0).any().item<bool>()) {
    throw std::invalid_argument("ObsNormalizer::Load: mean and var must be finite, var >= 0");
  }
  mean_ = mean;
  var_ = var;
  count_ = state.count;
}

}  // namespace hoverslam::learner
