// The actors' Eigen policy against the learner's LibTorch model it was exported from: the
// whole path an actor takes (ExportWeights -> Encode -> Decode -> Policy::FromWeights) must
// give the same mean and log-probability as the torch model on the torch-normalised obs.
#include <algorithm>
#include <cmath>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/policy.h"
#include "common/protocol.h"
#include "learner/obs_normalizer.h"
#include "learner/policy_model.h"
#include "learner/ppo_config.h"

namespace hoverslam::wire {
// Readable parameters in test names' comments (ctest), found by argument-dependent lookup.
void PrintTo(Activation activation, std::ostream* os) { *os << ActivationName(activation); }
}  // namespace hoverslam::wire

namespace hoverslam::learner {
namespace {

constexpr int kObsDim = 6;
constexpr int kActDim = 2;
constexpr float kClip = 5.0f;
// DESIGN.md: max abs diff < 1e-5. Outputs of magnitude above 1 get the same bound relative
// to their size (float32 resolution grows with the value).
constexpr double kTolerance = 1e-5;

// Rocket-like raw observations [x, y, theta, vx, vy, omega]: per-dimension scale and offset.
torch::Tensor RawObs(int64_t rows, double spread) {
  const torch::Tensor scale = torch::tensor({30.f, 5.f, 0.2f, 2.f, 2.f, 0.1f});
  const torch::Tensor offset = torch::tensor({40.f, 35.f, 0.1f, 0.5f, -1.f, 0.02f});
  return torch::randn({rows, kObsDim}) * scale * spread + offset;
}

// Fresh weights everywhere, the output layer included (the model's own init scales that one
// by 0.01, which would hide errors there), and random biases. He-scaled hidden layers and a
// unit-gain output keep the means at a policy's usual few units.
void Randomise(ActorCritic& model) {
  torch::NoGradGuard no_grad;
  const auto& layers = model->policy_layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    const torch::Tensor& w = layers[i]->weight;
    const double gain = i + 1 < layers.size() ? std::sqrt(2.0) : 1.0;
    w.copy_(torch::randn_like(w) * gain / std::sqrt(static_cast<double>(w.size(1))));
    layers[i]->bias.copy_(torch::randn_like(layers[i]->bias) * 0.2);
  }
  // Distinct std per dimension, not the config's initial value.
  model->named_parameters()["log_std"].copy_(torch::tensor({-0.8f, 0.3f}));
}

// max over elements of |a - b| / max(1, |b|).
double MaxScaledDiff(const std::vector<float>& a, const torch::Tensor& b) {
  const torch::Tensor ref = b.contiguous();
  EXPECT_EQ(static_cast<int64_t>(a.size()), ref.numel());
  const float* r = ref.data_ptr<float>();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(double{a[i]} - double{r[i]});
    worst = std::max(worst, diff / std::max(1.0, std::abs(double{r[i]})));
  }
  return worst;
}

using Case = std::tuple<wire::Activation, std::vector<int>>;

class EigenMatchesTorch : public ::testing::TestWithParam<Case> {};

TEST_P(EigenMatchesTorch, MeanAndLogProb) {
  const auto& [activation, hidden] = GetParam();
  torch::manual_seed(1234);
  PpoConfig config;
  config.activation = activation;
  config.hidden = hidden;
  ActorCritic model(kObsDim, kActDim, config);
  Randomise(model);

  // Statistics far from the identity, merged from two batches.
  ObsNormalizer normalizer(kObsDim, kClip);
  normalizer.Update(RawObs(500, 1.0));
  normalizer.Update(RawObs(300, 1.5));
  ASSERT_GT(normalizer.mean()[0].item<double>(), 10.0);
  ASSERT_GT(normalizer.var()[0].item<double>(), 100.0);

  // The actor's path, through the bytes on the wire.
  std::vector<char> bytes;
  wire::Encode(ExportWeights(model, normalizer, 3, "run-e", "rocket"), &bytes);
  wire::Weights decoded;
  const wire::DecodeResult result =
      wire::Decode(bytes.data(), bytes.size(), wire::Limits{}, wire::Expect{"run-e"}, &decoded);
  ASSERT_TRUE(result) << result.message;
  std::string why;
  std::optional<Policy> policy = Policy::FromWeights(decoded, kObsDim, kActDim, &why);
  ASSERT_TRUE(policy) << why;
  EXPECT_EQ(policy->version(), 3u);
  EXPECT_EQ(policy->activation(), activation);

  // In range, far outside it (every dimension clipped), and a batch wider than the Eigen
  // product's 128-column tile.
  const torch::Tensor obs = torch::cat({RawObs(200, 1.0), RawObs(60, 40.0), RawObs(40, 3.0)});
  const int n = static_cast<int>(obs.size(0));
  ASSERT_GT((normalizer.Normalize(obs).abs() == kClip).sum().item<int64_t>(), 100);
  torch::Tensor mean_ref, actions, logp_ref;
  {
    torch::NoGradGuard no_grad;
    mean_ref = model->Mean(normalizer.Normalize(obs));
    // Raw samples around the mean, a few many standard deviations away.
    actions = mean_ref + torch::randn({n, kActDim}) * model->log_std().exp() *
                             torch::cat({torch::ones({n - 20, 1}), torch::full({20, 1}, 8.0f)});
    logp_ref = ActorCriticImpl::LogProb(mean_ref, model->log_std(), actions);
  }
  ASSERT_GT(mean_ref.abs().max().item<float>(), 0.5f);  // outputs are not all near zero

  const torch::Tensor obs_c = obs.contiguous();
  const torch::Tensor actions_c = actions.contiguous();
  std::vector<float> mean(static_cast<size_t>(n) * kActDim), logp(n);
  policy->Mean(obs_c.data_ptr<float>(), n, mean.data());
  policy->LogProb(obs_c.data_ptr<float>(), actions_c.data_ptr<float>(), n, logp.data());
  EXPECT_LT(MaxScaledDiff(mean, mean_ref), kTolerance);
  EXPECT_LT(MaxScaledDiff(logp, logp_ref), kTolerance);

  // One env at a time (the untiled path) gives the same numbers.
  std::vector<float> one(kActDim);
  for (int row : {0, 205, n - 1}) {
    policy->Mean(obs_c[row].data_ptr<float>(), 1, one.data());
    EXPECT_LT(MaxScaledDiff(one, mean_ref[row]), kTolerance) << "row " << row;
  }

  // Deterministic Act returns the mean and the log-probability of the mean.
  std::vector<float> act(static_cast<size_t>(n) * kActDim), act_logp(n);
  policy->Act(obs_c.data_ptr<float>(), n, nullptr, /*deterministic=*/true, act.data(),
              act_logp.data());
  EXPECT_EQ(act, mean);
  torch::Tensor mode_logp;
  {
    torch::NoGradGuard no_grad;
    mode_logp = ActorCriticImpl::LogProb(mean_ref, model->log_std(), mean_ref);
  }
  EXPECT_LT(MaxScaledDiff(act_logp, mode_logp), kTolerance);
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name(wire::ActivationName(std::get<0>(info.param)));
  for (int width : std::get<1>(info.param)) name += "_" + std::to_string(width);
  return name;
}

INSTANTIATE_TEST_SUITE_P(Activations, EigenMatchesTorch,
                         ::testing::Combine(::testing::Values(wire::Activation::kTanh,
                                                              wire::Activation::kElu,
                                                              wire::Activation::kRelu),
                                            ::testing::Values(std::vector<int>{64, 64},
                                                              std::vector<int>{512, 256, 128})),
                         CaseName);

}  // namespace
}  // namespace hoverslam::learner
