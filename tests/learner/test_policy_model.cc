#include "learner/policy_model.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hoverslam::learner {
namespace {

PpoConfig SmallConfig(wire::Activation activation) {
  PpoConfig config;
  config.hidden = {16, 8};
  config.activation = activation;
  config.init_log_std = std::log(2.0f);
  return config;
}

// mean [0.5, -1], log_std [log 2, 0] (std [2, 1]), action [1.5, 0]; 0.5 log(2 pi) = 0.9189385:
//   dim 0: z = (1.5 - 0.5) / 2 = 0.5,  -0.5 * 0.25 - log 2 - 0.9189385 = -1.7370857
//   dim 1: z = (0 + 1) / 1 = 1,        -0.5 * 1    - 0     - 0.9189385 = -1.4189385
//   sum = -3.1560242
TEST(PolicyModel, GaussianLogProbAndEntropyClosedForm) {
  const torch::Tensor mean = torch::tensor({{0.5, -1.0}}, torch::kFloat64);
  const torch::Tensor log_std = torch::tensor({std::log(2.0), 0.0}, torch::kFloat64);
  const torch::Tensor action = torch::tensor({{1.5, 0.0}}, torch::kFloat64);
  const torch::Tensor logp = ActorCriticImpl::LogProb(mean, log_std, action);
  ASSERT_EQ(logp.sizes(), torch::IntArrayRef({1}));
  EXPECT_NEAR(logp.item<double>(), -3.1560242, 1e-6);
  // Density of a batch: a row per sample.
  const torch::Tensor two =
      ActorCriticImpl::LogProb(mean.repeat({2, 1}), log_std, torch::cat({action, mean}));
  // Second row is the mode: -log 2 - 2 * 0.9189385 = -2.5310242.
  EXPECT_NEAR(two[1].item<double>(), -2.5310242, 1e-6);

  // H = sum_i (0.5 + 0.5 log(2 pi) + log sigma_i); two dims at sigma = 2:
  //   2 * (0.5 + 0.9189385 + 0.6931472) = 4.2241714
  ActorCritic model(3, 2, SmallConfig(wire::Activation::kTanh));
  EXPECT_NEAR(model->Entropy().item<double>(), 4.2241714, 1e-5);
  EXPECT_TRUE(model->Entropy().requires_grad());
}

TEST(PolicyModel, ShapesAndInit) {
  torch::manual_seed(7);
  ActorCritic model(6, 2, SmallConfig(wire::Activation::kTanh));
  const torch::Tensor obs = torch::randn({5, 6});
  EXPECT_EQ(model->Mean(obs).sizes(), torch::IntArrayRef({5, 2}));
  EXPECT_EQ(model->Value(obs).sizes(), torch::IntArrayRef({5}));
  EXPECT_EQ(model->log_std().sizes(), torch::IntArrayRef({2}));

  // Orthogonal rows scaled by the gain: W W^T = gain^2 I for the wide-to-narrow 8 x 16 layer,
  // and the policy output starts near zero (gain 0.01).
  const auto& layers = model->policy_layers();
  ASSERT_EQ(layers.size(), 3u);
  const torch::Tensor w = layers[1]->weight.detach();
  EXPECT_TRUE(torch::allclose(w.mm(w.t()), 2.0 * torch::eye(8), 0, 1e-5));
  EXPECT_LT(layers[2]->weight.abs().max().item<float>(), 0.011f);
  EXPECT_EQ(layers[2]->bias.abs().max().item<float>(), 0.0f);
  // Separate critic: policy parameters are not shared with the value head.
  const torch::Tensor value = model->Value(obs).sum();
  value.backward();
  EXPECT_FALSE(layers[0]->weight.grad().defined());
}

float Activate(float x, wire::Activation activation) {
  switch (activation) {
    case wire::Activation::kTanh:
      return std::tanh(x);
    case wire::Activation::kElu:
      return x > 0 ? x : std::expm1(x);
    case wire::Activation::kRelu:
      return x > 0 ? x : 0.0f;
  }
  return x;
}

// What an actor does with an exported policy, written out with plain loops over the wire
// format: normalise, then y = W x + b per layer, activation on all but the last.
std::vector<float> ManualMean(const wire::Weights& weights, const float* obs) {
  std::vector<float> x(weights.obs_dim);
  for (uint32_t d = 0; d < weights.obs_dim; ++d) {
    const float z = (obs[d] - weights.obs_mean[d]) / std::sqrt(weights.obs_var[d] + 1e-8f);
    x[d] = std::fmin(std::fmax(z, -weights.obs_clip), weights.obs_clip);
  }
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    const wire::Layer& layer = weights.layers[l];
    std::vector<float> y(layer.out);
    for (uint32_t o = 0; o < layer.out; ++o) {
      double sum = layer.b[o];
      for (uint32_t i = 0; i < layer.in; ++i) sum += double{layer.w[o * layer.in + i]} * x[i];
      y[o] = static_cast<float>(sum);
      if (l + 1 < weights.layers.size()) y[o] = Activate(y[o], weights.activation);
    }
    x = std::move(y);
  }
  return x;
}

TEST(PolicyModel, ExportedWeightsReproduceMean) {
  for (wire::Activation activation :
       {wire::Activation::kTanh, wire::Activation::kElu, wire::Activation::kRelu}) {
    SCOPED_TRACE(std::string(wire::ActivationName(activation)));
    torch::manual_seed(8);
    PpoConfig config = SmallConfig(activation);
    config.hidden = {64, 32};
    ActorCritic model(6, 2, config);
    // Non-trivial output layer and log_std, so the test would notice a transposed or
    // mis-ordered layer.
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters()) p.add_(0.3 * torch::randn_like(p));
    }
    ObsNormalizer normalizer(6, /*clip=*/5.0f);
    normalizer.Update(torch::randn({100, 6}) * torch::tensor({30.f, 5.f, 0.2f, 2.f, 2.f, 0.1f}) +
                      torch::tensor({40.f, 35.f, 0.f, 0.f, -1.f, 0.f}));

    const wire::Weights weights = ExportWeights(model, normalizer, 42, "run-a", "rocket");
    EXPECT_EQ(weights.policy_version, 42u);
    EXPECT_EQ(weights.run, "run-a");
    EXPECT_EQ(weights.env, "rocket");
    EXPECT_EQ(weights.obs_dim, 6u);
    EXPECT_EQ(weights.act_dim, 2u);
    EXPECT_EQ(weights.activation, activation);
    ASSERT_EQ(weights.layers.size(), 3u);
    const uint32_t shapes[3][2] = {{6, 64}, {64, 32}, {32, 2}};  // {in, out}
    for (int l = 0; l < 3; ++l) {
      EXPECT_EQ(weights.layers[l].in, shapes[l][0]);
      EXPECT_EQ(weights.layers[l].out, shapes[l][1]);
      EXPECT_EQ(weights.layers[l].w.size(), size_t{shapes[l][0]} * shapes[l][1]);
      EXPECT_EQ(weights.layers[l].b.size(), size_t{shapes[l][1]});
    }
    ASSERT_EQ(weights.log_std.size(), 2u);
    EXPECT_EQ(weights.log_std[1], model->log_std()[1].item<float>());
    ASSERT_EQ(weights.obs_mean.size(), 6u);
    ASSERT_EQ(weights.obs_var.size(), 6u);
    EXPECT_EQ(weights.obs_mean[0], normalizer.mean()[0].item<float>());
    EXPECT_EQ(weights.obs_clip, 5.0f);

    // Raw observations, some far outside the statistics so the clip matters.
    const torch::Tensor obs = torch::randn({8, 6}) * 40 + 20;
    torch::Tensor mean;
    {
      torch::NoGradGuard no_grad;
      mean = model->Mean(normalizer.Normalize(obs)).contiguous();
    }
    for (int64_t row = 0; row < obs.size(0); ++row) {
      const std::vector<float> manual =
          ManualMean(weights, obs[row].contiguous().data_ptr<float>());
      for (int64_t a = 0; a < 2; ++a) {
        EXPECT_NEAR(manual[a], mean[row][a].item<float>(), 1e-5) << "row " << row;
      }
    }
    EXPECT_THROW(ExportWeights(model, ObsNormalizer(5), 0, "", "rocket"), std::invalid_argument);
  }
}

}  // namespace
}  // namespace hoverslam::learner
