#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/policy.h"
#include "common/protocol.h"
#include "common/rng.h"

namespace hoverslam {
namespace {

using wire::Activation;

wire::Layer MakeLayer(uint32_t in, uint32_t out, std::vector<float> w, std::vector<float> b) {
  wire::Layer layer;
  layer.in = in;
  layer.out = out;
  layer.w = std::move(w);
  layer.b = std::move(b);
  return layer;
}

Policy Build(const wire::Weights& weights) {
  std::string why;
  std::optional<Policy> policy =
      Policy::FromWeights(weights, weights.obs_dim, weights.act_dim, &why);
  EXPECT_TRUE(policy.has_value()) << why;
  return std::move(*policy);
}

// D = 2, one hidden layer of 2, A = 1:
//   W1 = [[0.5, -1], [0.25, 0.5]], b1 = [0.1, -0.2], W2 = [[2, -1]], b2 = [0.3]
//   obs_mean = [1, -2], obs_var = [4, 0.25], obs_clip = 5: std = [2, 0.5], since in float
//   4 + 1e-8 == 4 and 0.25 + 1e-8 == 0.25 (1e-8 is under half an ulp of either).
wire::Weights TinyNet(Activation activation) {
  wire::Weights w;
  w.policy_version = 7;
  w.obs_dim = 2;
  w.act_dim = 1;
  w.activation = activation;
  w.layers.push_back(MakeLayer(2, 2, {0.5f, -1.0f, 0.25f, 0.5f}, {0.1f, -0.2f}));
  w.layers.push_back(MakeLayer(2, 1, {2.0f, -1.0f}, {0.3f}));
  w.log_std = {0.0f};
  w.obs_mean = {1.0f, -2.0f};
  w.obs_var = {4.0f, 0.25f};
  w.obs_clip = 5.0f;
  return w;
}

// Three observations of TinyNet, one per row, and their normalised inputs:
//   [3, -1.5]  -> x = [(3-1)/2, (-1.5+2)/0.5] = [1, 1]
//                 z = [0.5*1 - 1*1 + 0.1, 0.25*1 + 0.5*1 - 0.2] = [-0.4, 0.55]
//   [100, -2]  -> x = [(100-1)/2 = 49.5 clipped to 5, 0]
//                 z = [0.5*5 + 0.1, 0.25*5 - 0.2] = [2.6, 1.05]
//   [-100, -2] -> x = [(-100-1)/2 = -50.5 clipped to -5, 0]
//                 z = [-2.5 + 0.1, -1.25 - 0.2] = [-2.4, -1.45]
// and mu = 2*h1 - h2 + 0.3 with h = act(z).
const std::vector<float> kTinyObs = {3.0f, -1.5f, 100.0f, -2.0f, -100.0f, -2.0f};

void ExpectTinyMeans(Activation activation, const std::vector<float>& expected) {
  Policy policy = Build(TinyNet(activation));
  std::vector<float> mean(3);
  policy.Mean(kTinyObs.data(), 3, mean.data());
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(mean[i], expected[i], 2e-6) << "obs row " << i;
}

TEST(Policy, TanhForwardByHand) {
  // tanh(-0.4) = -0.379948962, tanh(0.55) = 0.500520211:
  //   mu = 2*(-0.379948962) - 0.500520211 + 0.3 = -0.960418136
  // tanh(2.6) = 0.989027402, tanh(1.05) = 0.781806358:
  //   mu = 1.978054805 - 0.781806358 + 0.3 = 1.496248447
  // tanh(-2.4) = -0.983674858, tanh(-1.45) = -0.895692874:
  //   mu = -1.967349716 + 0.895692874 + 0.3 = -0.771656842
  ExpectTinyMeans(Activation::kTanh, {-0.960418136f, 1.496248447f, -0.771656842f});
}

TEST(Policy, EluForwardByHand) {
  // elu(-0.4) = exp(-0.4) - 1 = -0.329679954, elu(0.55) = 0.55:
  //   mu = -0.659359908 - 0.55 + 0.3 = -0.909359908
  // elu(2.6) = 2.6, elu(1.05) = 1.05: mu = 5.2 - 1.05 + 0.3 = 4.45
  // elu(-2.4) = exp(-2.4) - 1 = -0.909282047, elu(-1.45) = exp(-1.45) - 1 = -0.765429712:
  //   mu = -1.818564094 + 0.765429712 + 0.3 = -0.753134382
  ExpectTinyMeans(Activation::kElu, {-0.909359908f, 4.45f, -0.753134382f});
}

TEST(Policy, ReluForwardByHand) {
  // relu(-0.4) = 0, relu(0.55) = 0.55: mu = 0 - 0.55 + 0.3 = -0.25
  // relu(2.6) = 2.6, relu(1.05) = 1.05: mu = 5.2 - 1.05 + 0.3 = 4.45
  // relu(-2.4) = relu(-1.45) = 0: mu = 0.3
  ExpectTinyMeans(Activation::kRelu, {-0.25f, 4.45f, 0.3f});
}

// One linear layer with W = I, b = 0: the mean is the normalised observation.
wire::Weights IdentityNet() {
  wire::Weights w;
  w.obs_dim = 2;
  w.act_dim = 2;
  w.layers.push_back(MakeLayer(2, 2, {1, 0, 0, 1}, {0, 0}));
  w.log_std = {0, 0};
  w.obs_mean = {1.0f, 0.0f};
  w.obs_var = {4.0f, 0.0f};  // std [2, sqrt(0 + 1e-8) = 1e-4]
  w.obs_clip = 5.0f;
  return w;
}

TEST(Policy, NormalisesWithEpsilonAndClipsBothSides) {
  Policy policy = Build(IdentityNet());
  const std::vector<float> obs = {
      2.0f,   0.0f,     // [(2-1)/2, 0/1e-4] = [0.5, 0] (0/0 = NaN without the epsilon)
      1.0f,   3e-4f,    // [0, 3e-4/1e-4] = [0, 3]
      -20.0f, 1.0f,     // [-21/2 = -10.5 -> -5, 1/1e-4 = 1e4 -> 5]
      11.0f,  -1e-3f};  // [10/2 = 5 (at the bound, kept), -1e-3/1e-4 = -10 -> -5]
  std::vector<float> mean(8);
  policy.Mean(obs.data(), 4, mean.data());
  const std::vector<float> expected = {0.5f, 0.0f, 0.0f, 3.0f, -5.0f, 5.0f, 5.0f, -5.0f};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(mean[i], expected[i], 1e-5) << "element " << i;
}

TEST(Policy, GaussianLogProbByHand) {
  // dim 0: mu = 0.5, log_std = 0 (sigma 1), a = 1.5: z = 1
  //   -0.5*1 - 0 - 0.5*log(2 pi) = -0.5 - 0.918938533 = -1.418938533
  // dim 1: mu = -1, log_std = log 2 (sigma 2), a = 0: z = 0.5
  //   -0.5*0.25 - 0.693147181 - 0.918938533 = -1.737085714
  // sum = -3.156024247
  const float mean[] = {0.5f, -1.0f};
  const float log_std[] = {0.0f, std::log(2.0f)};
  const float action[] = {1.5f, 0.0f};
  EXPECT_NEAR(Policy::GaussianLogProb(mean, log_std, action, 1), -1.418938533f, 1e-6);
  EXPECT_NEAR(Policy::GaussianLogProb(mean + 1, log_std + 1, action + 1, 1), -1.737085714f, 1e-6);
  EXPECT_NEAR(Policy::GaussianLogProb(mean, log_std, action, 2), -3.156024247f, 2e-6);
}

TEST(Policy, LogProbRecomputesFromObsByHand) {
  // TinyNet relu with log_std = log 2: row 0 has mu = -0.25; a = 0.75 gives z = 0.5 and
  // logp = -0.125 - 0.693147181 - 0.918938533 = -1.737085714.
  wire::Weights w = TinyNet(Activation::kRelu);
  w.log_std = {std::log(2.0f)};
  Policy policy = Build(w);
  const float action = 0.75f;
  float logp = 0;
  policy.LogProb(kTinyObs.data(), &action, 1, &logp);
  EXPECT_NEAR(logp, -1.737085714f, 2e-6);
}

// Zero weights and bias b: the mean is b for any observation.
wire::Weights ConstantNet(std::vector<float> b, std::vector<float> log_std) {
  wire::Weights w;
  w.obs_dim = 3;
  w.act_dim = static_cast<uint32_t>(b.size());
  w.layers.push_back(MakeLayer(3, 4, std::vector<float>(12, 0.0f), std::vector<float>(4, 0.0f)));
  w.layers.push_back(MakeLayer(4, w.act_dim, std::vector<float>(4 * w.act_dim, 0.0f), b));
  w.log_std = std::move(log_std);
  w.obs_mean = {0, 0, 0};
  w.obs_var = {1, 1, 1};
  return w;
}

std::vector<Rng> MakeRngs(uint64_t seed, int n) {
  std::vector<Rng> rngs;
  for (int i = 0; i < n; ++i) rngs.emplace_back(EnvSeed(seed, i));
  return rngs;
}

TEST(Policy, SamplesHaveTheMeanAndStdOfTheGaussian) {
  const std::vector<float> mu = {0.3f, -1.2f};
  const std::vector<float> sigma = {0.5f, 2.0f};
  Policy policy = Build(ConstantNet(mu, {std::log(sigma[0]), std::log(sigma[1])}));
  constexpr int kEnvs = 100, kCalls = 2000, kSamples = kEnvs * kCalls;  // 200k per dim
  std::vector<Rng> rngs = MakeRngs(5, kEnvs);
  std::vector<float> obs(kEnvs * 3, 0.25f), actions(kEnvs * 2), logp(kEnvs), recomputed(kEnvs);
  double sum[2] = {0, 0}, sum_sq[2] = {0, 0}, sum_cross = 0, sum_logp = 0;
  for (int c = 0; c < kCalls; ++c) {
    policy.Act(obs.data(), kEnvs, rngs.data(), false, actions.data(), logp.data());
    policy.LogProb(obs.data(), actions.data(), kEnvs, recomputed.data());
    ASSERT_EQ(std::memcmp(logp.data(), recomputed.data(), sizeof(float) * kEnvs), 0);
    for (int i = 0; i < kEnvs; ++i) {
      const double u0 = (actions[i * 2] - mu[0]) / sigma[0];
      const double u1 = (actions[i * 2 + 1] - mu[1]) / sigma[1];
      for (int j = 0; j < 2; ++j) {
        sum[j] += actions[i * 2 + j];
        sum_sq[j] += double{actions[i * 2 + j]} * actions[i * 2 + j];
      }
      sum_cross += u0 * u1;
      sum_logp += logp[i];
    }
  }
  for (int j = 0; j < 2; ++j) {
    const double mean = sum[j] / kSamples;
    const double std = std::sqrt(sum_sq[j] / kSamples - mean * mean);
    // Standard error of the mean is sigma / sqrt(200k) = 0.0022 sigma: allow 5 of them.
    EXPECT_NEAR(mean, mu[j], 0.011 * sigma[j]) << "dim " << j;
    // Standard error of the std is sigma / sqrt(2 * 200k) = 0.0016 sigma: allow ~5.
    EXPECT_NEAR(std, sigma[j], 0.008 * sigma[j]) << "dim " << j;
  }
  EXPECT_NEAR(sum_cross / kSamples, 0.0, 0.011);  // dims are independent
  // E[logp] = -entropy = -sum_j (log sigma_j + 0.5 log(2 pi e)) = -(log 0.5 + log 2) - 2.837877
  // = -2.837877066; logp has variance 0.5 per dim, so its mean's standard error is 0.0022.
  EXPECT_NEAR(sum_logp / kSamples, -2.837877066, 0.011);
}

TEST(Policy, DeterministicReturnsTheMeanAndLeavesRngsAlone) {
  wire::Weights w = TinyNet(Activation::kTanh);
  w.log_std = {std::log(0.5f)};
  Policy policy = Build(w);
  std::vector<float> mean(3), actions(3), logp(3);
  policy.Mean(kTinyObs.data(), 3, mean.data());
  std::vector<Rng> rngs = MakeRngs(1, 3), untouched = MakeRngs(1, 3);
  policy.Act(kTinyObs.data(), 3, rngs.data(), true, actions.data(), logp.data());
  EXPECT_EQ(std::memcmp(actions.data(), mean.data(), sizeof(float) * 3), 0);
  // logp of the mean: -log(0.5) - 0.5 log(2 pi) = 0.693147181 - 0.918938533 = -0.225791352
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(logp[i], -0.225791352f, 1e-6);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rngs[i].NextU64(), untouched[i].NextU64());
  // rngs may be null in deterministic mode.
  policy.Act(kTinyObs.data(), 3, nullptr, true, actions.data(), logp.data());
  EXPECT_EQ(std::memcmp(actions.data(), mean.data(), sizeof(float) * 3), 0);
}

// A 6-h1-h2-2 MLP with random weights.
wire::Weights RandomNet(Activation activation, uint64_t seed, uint32_t h1 = 64, uint32_t h2 = 64) {
  Rng rng(seed);
  wire::Weights w;
  w.policy_version = 3;
  w.obs_dim = 6;
  w.act_dim = 2;
  w.activation = activation;
  const uint32_t sizes[] = {6, h1, h2, 2};
  for (int l = 0; l < 3; ++l) {
    const uint32_t in = sizes[l], out = sizes[l + 1];
    const float scale = 1.5f / std::sqrt(static_cast<float>(in));
    std::vector<float> weight(in * out), bias(out);
    for (float& x : weight) x = rng.Normal() * scale;
    for (float& x : bias) x = rng.Uniform(-0.5f, 0.5f);
    w.layers.push_back(MakeLayer(in, out, weight, bias));
  }
  w.log_std = {-0.5f, 0.2f};
  for (int d = 0; d < 6; ++d) {
    w.obs_mean.push_back(rng.Uniform(-10.0f, 10.0f));
    w.obs_var.push_back(rng.Uniform(0.1f, 30.0f));
  }
  w.obs_clip = 5.0f;
  return w;
}

// Plain loops in double: the reference the Eigen forward must match.
std::vector<double> ReferenceMean(const wire::Weights& w, const float* obs) {
  std::vector<double> x(w.obs_dim);
  for (uint32_t d = 0; d < w.obs_dim; ++d) {
    const double z = (obs[d] - double{w.obs_mean[d]}) / std::sqrt(w.obs_var[d] + 1e-8);
    x[d] = std::fmin(std::fmax(z, -w.obs_clip), w.obs_clip);
  }
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const wire::Layer& layer = w.layers[l];
    std::vector<double> h(layer.out);
    for (uint32_t o = 0; o < layer.out; ++o) {
      double s = layer.b[o];
      for (uint32_t i = 0; i < layer.in; ++i) s += double{layer.w[o * layer.in + i]} * x[i];
      if (l + 1 < w.layers.size()) {
        switch (w.activation) {
          case Activation::kTanh:
            s = std::tanh(s);
            break;
          case Activation::kElu:
            s = s > 0 ? s : std::expm1(s);
            break;
          case Activation::kRelu:
            s = std::fmax(s, 0.0);
            break;
        }
      }
      h[o] = s;
    }
    x = std::move(h);
  }
  return x;
}

TEST(Policy, MatchesDoubleReferenceOn6x64x64x2ForEveryActivationAndBatchSize) {
  for (Activation activation : {Activation::kTanh, Activation::kElu, Activation::kRelu}) {
    const wire::Weights w = RandomNet(activation, 11 + static_cast<int>(activation));
    Policy policy = Build(w);
    EXPECT_EQ(policy.version(), 3u);
    EXPECT_EQ(policy.obs_dim(), 6);
    EXPECT_EQ(policy.act_dim(), 2);
    Rng rng(99);
    std::vector<float> obs(64 * 6);
    for (float& x : obs) x = rng.Uniform(-20.0f, 20.0f);  // some clip
    // Growing, shrinking and regrowing n reuses the buffers and stays right.
    for (int n : {16, 1, 3, 64, 16, 7}) {
      std::vector<float> mean(n * 2);
      policy.Mean(obs.data(), n, mean.data());
      for (int i = 0; i < n; ++i) {
        const std::vector<double> ref = ReferenceMean(w, obs.data() + i * 6);
        for (int j = 0; j < 2; ++j) {
          ASSERT_NEAR(mean[i * 2 + j], ref[j], 1e-5)
              << wire::ActivationName(activation) << " n " << n << " env " << i;
        }
      }
    }
  }
}

TEST(Policy, MatchesDoubleReferenceWhenProductsAreTiled) {
  // Layers and batches over 128 are multiplied in 128-wide tiles (see policy.cc).
  const wire::Weights w = RandomNet(Activation::kTanh, 21, 300, 130);
  Policy policy = Build(w);
  Rng rng(7);
  std::vector<float> obs(200 * 6);
  for (float& x : obs) x = rng.Uniform(-20.0f, 20.0f);
  for (int n : {200, 129, 5}) {
    std::vector<float> mean(n * 2);
    policy.Mean(obs.data(), n, mean.data());
    for (int i = 0; i < n; ++i) {
      const std::vector<double> ref = ReferenceMean(w, obs.data() + i * 6);
      for (int j = 0; j < 2; ++j) ASSERT_NEAR(mean[i * 2 + j], ref[j], 1e-5) << "n " << n;
    }
  }
}

TEST(Policy, SameSeedGivesBitIdenticalActions) {
  const wire::Weights w = RandomNet(Activation::kTanh, 4);
  Policy a = Build(w), b = Build(w), c = Build(w);
  constexpr int kEnvs = 16;
  std::vector<Rng> rngs_a = MakeRngs(42, kEnvs), rngs_b = MakeRngs(42, kEnvs),
                   rngs_c = MakeRngs(43, kEnvs);
  std::vector<float> obs(kEnvs * 6);
  Rng obs_rng(3);
  std::vector<float> act_a(kEnvs * 2), act_b(kEnvs * 2), act_c(kEnvs * 2);
  std::vector<float> logp_a(kEnvs), logp_b(kEnvs), logp_c(kEnvs);
  bool any_differs = false;
  for (int t = 0; t < 50; ++t) {
    for (float& x : obs) x = obs_rng.Uniform(-5.0f, 5.0f);
    a.Act(obs.data(), kEnvs, rngs_a.data(), false, act_a.data(), logp_a.data());
    b.Act(obs.data(), kEnvs, rngs_b.data(), false, act_b.data(), logp_b.data());
    c.Act(obs.data(), kEnvs, rngs_c.data(), false, act_c.data(), logp_c.data());
    ASSERT_EQ(std::memcmp(act_a.data(), act_b.data(), sizeof(float) * kEnvs * 2), 0) << t;
    ASSERT_EQ(std::memcmp(logp_a.data(), logp_b.data(), sizeof(float) * kEnvs), 0) << t;
    any_differs |= std::memcmp(act_a.data(), act_c.data(), sizeof(float) * kEnvs * 2) != 0;
  }
  EXPECT_TRUE(any_differs);  // another seed gives other actions
}

TEST(Policy, EnvNoiseDoesNotDependOnTheBatch) {
  // Mean is exactly b, so each env's action is b + sigma * its own rng's normals.
  Policy policy = Build(ConstantNet({0.1f, -0.1f}, {0.0f, 0.5f}));
  constexpr int kEnvs = 4;
  std::vector<Rng> batch = MakeRngs(8, kEnvs), single = MakeRngs(8, kEnvs);
  std::vector<float> obs(kEnvs * 3, 1.0f), batched(kEnvs * 2), logp(kEnvs);
  policy.Act(obs.data(), kEnvs, batch.data(), false, batched.data(), logp.data());
  for (int i = 0; i < kEnvs; ++i) {
    float one[2], one_logp;
    policy.Act(obs.data(), 1, &single[i], false, one, &one_logp);
    EXPECT_EQ(std::memcmp(one, batched.data() + i * 2, sizeof(one)), 0) << "env " << i;
    EXPECT_EQ(one_logp, logp[i]);
  }
}

void ExpectRejected(const wire::Weights& w, int obs_dim, int act_dim, const std::string& needle) {
  std::string why;
  EXPECT_FALSE(Policy::FromWeights(w, obs_dim, act_dim, &why).has_value()) << needle;
  EXPECT_NE(why.find(needle), std::string::npos) << "why: '" << why << "', want '" << needle << "'";
}

TEST(Policy, RejectsWeightsThatDoNotFit) {
  const wire::Weights good = TinyNet(Activation::kTanh);
  std::string why;
  EXPECT_TRUE(Policy::FromWeights(good, 2, 1, &why).has_value()) << why;
  EXPECT_TRUE(Policy::FromWeights(good, 2, 1, nullptr).has_value());
  EXPECT_FALSE(Policy::FromWeights(good, 6, 1, nullptr).has_value());  // why may be null

  ExpectRejected(good, 6, 1, "obs_dim");  // env is the rocket, weights are not
  ExpectRejected(good, 2, 2, "act_dim");

  wire::Weights w = good;
  w.layers.clear();
  ExpectRejected(w, 2, 1, "no layers");

  w = good;  // first layer does not take obs_dim inputs (and header agrees with the env)
  w.layers[0] = MakeLayer(3, 2, std::vector<float>(6, 0.0f), {0, 0});
  ExpectRejected(w, 2, 1, "layer 0 in 3");

  w = good;  // chain broken between layers
  w.layers[1] = MakeLayer(3, 1, {1, 1, 1}, {0});
  ExpectRejected(w, 2, 1, "layer 1 in 3");

  w = good;  // last layer does not produce act_dim outputs
  w.layers[1] = MakeLayer(2, 2, {1, 1, 1, 1}, {0, 0});
  ExpectRejected(w, 2, 1, "last layer out 2");

  w = good;
  w.layers[1].w.pop_back();
  ExpectRejected(w, 2, 1, "layer 1 w has 1");

  w = good;
  w.layers[0].b.push_back(0);
  ExpectRejected(w, 2, 1, "layer 0 b has 3");

  w = good;
  w.log_std = {0, 0};
  ExpectRejected(w, 2, 1, "log_std");

  w = good;
  w.obs_var.pop_back();
  ExpectRejected(w, 2, 1, "obs_var");

  w = good;
  w.obs_var[0] = -1;
  ExpectRejected(w, 2, 1, "negative");

  w = good;
  w.layers[0].w[2] = std::nanf("");
  ExpectRejected(w, 2, 1, "non-finite");

  w = good;
  w.obs_clip = 0;
  ExpectRejected(w, 2, 1, "obs_clip");
}

}  // namespace
}  // namespace hoverslam
