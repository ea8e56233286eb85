#include "learner/ppo_loss.h"

#include <cmath>
#include <tuple>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hoverslam::learner {
namespace {

torch::Tensor Scalar1(double value) { return torch::tensor({value}, torch::kFloat64); }

// Config fields are float, so clip 0.2f is 0.2 only to ~3e-9: hand values are checked to 1e-6.

// One sample with ratio = exp(new_logp - old_logp) = `ratio`; values equal returns so only the
// policy term is non-zero. Returns pg_loss, d pg_loss / d new_logp and clipfrac.
struct PolicyCase {
  double pg_loss, grad, clipfrac, approx_kl;
};

PolicyCase Policy(double ratio, double advantage) {
  PpoConfig config;  // clip 0.2
  const torch::Tensor new_logp = Scalar1(std::log(ratio)).requires_grad_();
  const torch::Tensor zero = Scalar1(0);
  const PpoLossResult out =
      PpoLoss(new_logp, zero, Scalar1(advantage), zero, zero, zero, zero, config);
  out.pg_loss.backward();
  return {out.pg_loss.item<double>(), new_logp.grad().item<double>(), out.clipfrac.item<double>(),
          out.approx_kl.item<double>()};
}

TEST(PpoLoss, SurrogateClippingByHand) {
  // ratio 1.5 > 1 + 0.2 and A = 2 > 0: max(-2 * 1.5, -2 * 1.2) = max(-3, -2.4) = -2.4, the
  // clipped term, which is constant in the ratio: zero gradient. The sample counts as clipped,
  // and approx_kl = (1.5 - 1) - log 1.5 = 0.5 - 0.4054651 = 0.0945349.
  PolicyCase c = Policy(1.5, 2.0);
  EXPECT_NEAR(c.pg_loss, -2.4, 1e-6);
  EXPECT_EQ(c.grad, 0.0);
  EXPECT_EQ(c.clipfrac, 1.0);
  EXPECT_NEAR(c.approx_kl, 0.0945349, 1e-6);

  // ratio 0.5 < 1 - 0.2 and A = -1 < 0: max(1 * 0.5, 1 * 0.8) = 0.8, clipped, zero gradient.
  c = Policy(0.5, -1.0);
  EXPECT_NEAR(c.pg_loss, 0.8, 1e-6);
  EXPECT_EQ(c.grad, 0.0);
  EXPECT_EQ(c.clipfrac, 1.0);

  // ratio 1.1 inside [0.8, 1.2], A = 2: -2 * 1.1 = -2.2, and
  // d/d logp (-A * exp(logp - old_logp)) = -A * ratio = -2.2.
  c = Policy(1.1, 2.0);
  EXPECT_NEAR(c.pg_loss, -2.2, 1e-6);
  EXPECT_NEAR(c.grad, -2.2, 1e-6);
  EXPECT_EQ(c.clipfrac, 0.0);

  // The clip only removes incentives, never penalties: ratio 1.5 with A = -1 gives
  // max(1 * 1.5, 1 * 1.2) = 1.5, the unclipped term, with gradient -A * ratio = 1.5.
  c = Policy(1.5, -1.0);
  EXPECT_NEAR(c.pg_loss, 1.5, 1e-6);
  EXPECT_NEAR(c.grad, 1.5, 1e-6);
}

// A behaviour log-probability of -1e30 (finite, absurd) would make ratio = exp(1e30) = inf
// and the loss NaN. The log-ratio is bounded to [-20, 20] first: ratio exp(20) with A = -1
// gives max(1 * e^20, 1 * 1.2) = e^20 = 4.85165e8, finite and flat in new_logp (the bound
// is active). The other way, log-ratio -1e30 -> exp(-20) = 2.06e-9, A = 1: max(-2.06e-9,
// -0.8) = -2.06e-9.
TEST(PpoLoss, LogRatioIsBoundedBeforeExp) {
  PpoConfig config;
  const torch::Tensor zero = Scalar1(0);
  for (const double old_logp : {-1e30, 1e30}) {
    SCOPED_TRACE(old_logp);
    const torch::Tensor new_logp = Scalar1(0).requires_grad_();
    const double advantage = old_logp < 0 ? -1.0 : 1.0;
    const PpoLossResult out =
        PpoLoss(new_logp, Scalar1(old_logp), Scalar1(advantage), zero, zero, zero, zero, config);
    out.loss.backward();
    const double expected = old_logp < 0 ? std::exp(20.0) : -std::exp(-20.0);
    EXPECT_NEAR(out.pg_loss.item<double>(), expected, std::abs(expected) * 1e-9);
    EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
    EXPECT_TRUE(std::isfinite(out.approx_kl.item<double>()));
    EXPECT_EQ(new_logp.grad().item<double>(), 0.0);
  }
}

// One sample, old value 1, return 2, value_clip 0.2; only the value term is non-zero.
struct ValueCase {
  double v_loss, grad;
};

ValueCase Value(double value, bool clip_value) {
  PpoConfig config;
  config.clip_value = clip_value;
  config.clip = 0.5f;  // the policy's clip must not leak into the value clip (0.2)
  const torch::Tensor v = Scalar1(value).requires_grad_();
  const torch::Tensor zero = Scalar1(0);
  const PpoLossResult out = PpoLoss(zero, zero, zero, v, Scalar1(1.0), Scalar1(2.0), zero, config);
  out.v_loss.backward();
  return {out.v_loss.item<double>(), v.grad().item<double>()};
}

TEST(PpoLoss, ValueClippingByHand) {
  // V = 1.5: unclipped (1.5 - 2)^2 = 0.25; clipped 1 + clamp(0.5, -0.2, 0.2) = 1.2,
  // (1.2 - 2)^2 = 0.64; 0.5 * max = 0.32, and the clipped branch is flat in V.
  ValueCase c = Value(1.5, true);
  EXPECT_NEAR(c.v_loss, 0.32, 1e-6);
  EXPECT_EQ(c.grad, 0.0);
  // V = 1.1, inside the clip: 0.5 * (1.1 - 2)^2 = 0.405, gradient V - R = -0.9.
  c = Value(1.1, true);
  EXPECT_NEAR(c.v_loss, 0.405, 1e-6);
  EXPECT_NEAR(c.grad, -0.9, 1e-6);
  // V = 0.5 moved away from the return: unclipped (0.5 - 2)^2 = 2.25 beats clipped
  // (0.8 - 2)^2 = 1.44, so 0.5 * 2.25 = 1.125 with gradient V - R = -1.5.
  c = Value(0.5, true);
  EXPECT_NEAR(c.v_loss, 1.125, 1e-6);
  EXPECT_NEAR(c.grad, -1.5, 1e-6);
  // Without clipping, V = 1.5: 0.5 * 0.25 = 0.125, gradient -0.5.
  c = Value(1.5, false);
  EXPECT_NEAR(c.v_loss, 0.125, 1e-6);
  EXPECT_NEAR(c.grad, -0.5, 1e-6);
}

// Two samples. Policy: ratio 1 (no clip), A = [1, -3] -> pg_loss = -(1 - 3) / 2 = 1.
// Value: V = R -> 0. Entropy [2, 4] -> 3. loss = 1 + 1.0 * 0 - 0.005 * 3 = 0.985.
TEST(PpoLoss, TotalCombinesTerms) {
  PpoConfig config;
  config.entropy_coef = 0.005f;
  const torch::Tensor zeros = torch::zeros({2}, torch::kFloat64);
  const torch::Tensor adv = torch::tensor({1.0, -3.0}, torch::kFloat64);
  const torch::Tensor ent = torch::tensor({2.0, 4.0}, torch::kFloat64);
  const PpoLossResult out = PpoLoss(zeros, zeros, adv, zeros, zeros, zeros, ent, config);
  EXPECT_NEAR(out.pg_loss.item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(out.v_loss.item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(out.entropy.item<double>(), 3.0, 1e-6);
  EXPECT_NEAR(out.loss.item<double>(), 0.985, 1e-6);
  EXPECT_NEAR(out.approx_kl.item<double>(), 0.0, 1e-6);
  EXPECT_FALSE(out.approx_kl.requires_grad());
}

// Decoupled PPO, by hand. Ratio to the proximal policy 1 (no clip), A = [1, -3]; weights
// pi_prox / pi_behaviour of [2, 0.5]: pg_loss = -(2 * 1 + 0.5 * -3) / 2 = -0.25, and the
// gradient of each sample's log-probability is -w A / 2 = [-1, 0.75].
TEST(PpoLoss, BehaviourWeightScalesEachSample) {
  PpoConfig config;
  const torch::Tensor new_logp = torch::zeros({2}, torch::kFloat64).requires_grad_();
  const torch::Tensor zeros = torch::zeros({2}, torch::kFloat64);
  const torch::Tensor adv = torch::tensor({1.0, -3.0}, torch::kFloat64);
  const torch::Tensor w = torch::tensor({2.0, 0.5}, torch::kFloat64);
  const PpoLossResult out = PpoLoss(new_logp, zeros, adv, zeros, zeros, zeros, zeros, config, w);
  out.pg_loss.backward();
  EXPECT_NEAR(out.pg_loss.item<double>(), -0.25, 1e-9);
  EXPECT_NEAR(new_logp.grad()[0].item<double>(), -1.0, 1e-9);
  EXPECT_NEAR(new_logp.grad()[1].item<double>(), 0.75, 1e-9);
}

// w = min(exp(prox - behaviour), max): exp(log 1.5) = 1.5; exp(log 3) = 3 -> 2; exp(-1);
// exp(19.9) -> 2; a difference of 20 nats or more either way (an absurd behaviour logp) -> 0.
TEST(PpoLoss, BehaviourWeightIsTruncatedAndDropsAbsurdSamples) {
  const torch::Tensor prox =
      torch::tensor({std::log(1.5), std::log(3.0), -1.0, 19.9, 20.0, 1e6, -1e6}, torch::kFloat64);
  const torch::Tensor w = BehaviourWeight(prox, torch::zeros({7}, torch::kFloat64), 2.0);
  const double expected[] = {1.5, 2.0, std::exp(-1.0), 2.0, 0.0, 0.0, 0.0};
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(w[i].item<double>(), expected[i], 1e-12) << i;
}

// KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2 = 0.443147; a second dimension with
// equal distributions adds 0; equal Gaussians give 0; KL is not symmetric:
// KL(N(1, 2^2) || N(0, 1)) = -log 2 + (4 + 1) / 2 - 1/2 = 1.306853.
TEST(PpoLoss, GaussianKlByHand) {
  const auto t = [](std::initializer_list<double> v) {
    return torch::tensor(std::vector<double>(v), torch::kFloat64);
  };
  const torch::Tensor p_mean = t({0.0, 5.0}).view({1, 2}), q_mean = t({1.0, 5.0}).view({1, 2});
  const torch::Tensor p_log_std = t({0.0, 0.3}), q_log_std = t({std::log(2.0), 0.3});
  EXPECT_NEAR(GaussianKl(p_mean, p_log_std, q_mean, q_log_std).item<double>(), 0.4431472, 1e-6);
  EXPECT_NEAR(GaussianKl(q_mean, q_log_std, p_mean, p_log_std).item<double>(), 1.3068528, 1e-6);
  EXPECT_NEAR(GaussianKl(p_mean, p_log_std, p_mean, p_log_std).item<double>(), 0.0, 1e-12);
}

// The entropy floor: with floor 0.4 and weight 0.02, entropy 0.1 adds 0.02 x 0.3 = 0.006 to
// the loss with d loss / d H = -0.02 (the std is pushed up); entropy 0.5, above the floor,
// adds nothing and gets no gradient from it.
TEST(PpoLoss, EntropyFloorPushesOnlyBelowIt) {
  PpoConfig config;
  config.entropy_coef = 0;
  config.entropy_floor = 0.4f;
  config.entropy_floor_coef = 0.02f;
  const torch::Tensor zeros = torch::zeros({1}, torch::kFloat64);
  for (const auto& [h, extra, grad] : {std::tuple{0.1, 0.006, -0.02}, {0.5, 0.0, 0.0}}) {
    const torch::Tensor entropy = torch::tensor(h, torch::kFloat64).requires_grad_();
    const PpoLossResult out = PpoLoss(zeros, zeros, zeros, zeros, zeros, zeros, entropy, config);
    out.loss.backward();
    EXPECT_NEAR(out.loss.item<double>(), extra, 1e-7) << "H = " << h;
    EXPECT_NEAR(entropy.grad().item<double>(), grad, 1e-7) << "H = " << h;
  }
}

TEST(PpoLoss, AdvantageNormalizationAndExplainedVariance) {
  // [1, 2, 3]: mean 2, population std sqrt(2/3) -> [-1.2247, 0, 1.2247].
  const torch::Tensor n = NormalizeAdvantages(torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64));
  EXPECT_NEAR(n[0].item<double>(), -1.2247449, 1e-6);
  EXPECT_NEAR(n[1].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(n[2].item<double>(), 1.2247449, 1e-6);

  const torch::Tensor returns = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64);
  EXPECT_NEAR(ExplainedVariance(returns, returns), 1.0, 1e-6);
  // A constant critic explains nothing: Var(R - c) = Var(R).
  EXPECT_NEAR(ExplainedVariance(torch::full({4}, 7.0, torch::kFloat64), returns), 0.0, 1e-6);
  EXPECT_TRUE(std::isnan(ExplainedVariance(returns, torch::ones({4}, torch::kFloat64))));
}

TEST(AdaptiveLr, UpDownUnchangedBounded) {
  PpoConfig config;        // factor 1.5, bounds [1e-5, 1e-2]
  const double kl = 0.01;  // the target
  const double lr = 3e-4;
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.03, kl, config), lr / 1.5);   // kl > 0.02
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.001, kl, config), lr * 1.5);  // kl < 0.005
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.01, kl, config), lr);         // in [0.005, 0.02]
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.02, kl, config), lr);         // boundaries are inside
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.005, kl, config), lr);
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.0, kl, config), lr);  // policy has not moved: no signal
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, std::nan(""), kl, config), lr);
  EXPECT_DOUBLE_EQ(AdaptiveLr(1.2e-5, 1.0, kl, config), 1e-5);  // 8e-6 bounded below
  EXPECT_DOUBLE_EQ(AdaptiveLr(8e-3, 1e-4, kl, config), 1e-2);   // 1.2e-2 bounded above
}

// Linear from 3e-4 to 0 over 1M env steps: a quarter in, 2.25e-4; at and past the end, 0.
TEST(PpoConfig, AnnealedLrFallsLinearlyToZero) {
  PpoConfig config;
  config.lr = 3e-4;
  EXPECT_DOUBLE_EQ(config.AnnealedLr(0, 1'000'000), 3e-4);
  EXPECT_DOUBLE_EQ(config.AnnealedLr(250'000, 1'000'000), 2.25e-4);
  EXPECT_NEAR(config.AnnealedLr(983'616, 1'000'000), 4.9152e-6, 1e-15);  // before the last batch
  EXPECT_DOUBLE_EQ(config.AnnealedLr(1'000'000, 1'000'000), 0.0);
  EXPECT_DOUBLE_EQ(config.AnnealedLr(1'200'000, 1'000'000), 0.0);
  EXPECT_DOUBLE_EQ(config.AnnealedLr(500, 0), 3e-4);  // no budget: no anneal
}

// Geometric from 0.01 to 0.001 over 100 versions: halfway is 0.01 x 0.1^0.5 = 0.0031623, then
// it stays at the end value; with no anneal the target is constant. The lr schedule reads it:
// kl 0.003 is inside [0.0016, 0.0063] halfway, but above 2 x 0.001 at the end.
TEST(PpoConfig, DesiredKlAnnealsGeometrically) {
  PpoConfig config;
  config.desired_kl = 0.01;
  config.desired_kl_end = 0.001;
  EXPECT_DOUBLE_EQ(config.DesiredKl(1000), 0.01);  // kl_anneal_updates 0: off
  config.kl_anneal_updates = 100;
  EXPECT_NEAR(config.DesiredKl(0), 0.01, 1e-15);
  EXPECT_NEAR(config.DesiredKl(50), 0.0031623, 1e-7);
  EXPECT_NEAR(config.DesiredKl(100), 0.001, 1e-15);
  EXPECT_NEAR(config.DesiredKl(5000), 0.001, 1e-15);
  const double lr = 3e-4;
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.003, config.DesiredKl(50), config), lr);
  EXPECT_DOUBLE_EQ(AdaptiveLr(lr, 0.003, config.DesiredKl(100), config), lr / 1.5);
  config.kl_anneal_updates = -1;
  EXPECT_THROW(config.Validate(), std::invalid_argument);
}

TEST(PpoConfig, ValidateNamesTheBadField) {
  PpoConfig config;
  EXPECT_NO_THROW(config.Validate());
  config.gae_lambda = 1.5f;
  try {
    config.Validate();
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("gae_lambda"), std::string::npos) << e.what();
  }
  config = PpoConfig();
  config.hidden = {64, 0};
  EXPECT_THROW(config.Validate(), std::invalid_argument);
  config = PpoConfig();
  config.clip = std::nanf("");
  EXPECT_THROW(config.Validate(), std::invalid_argument);
  config = PpoConfig();
  config.lr = 1.0;  // above lr_max with the adaptive schedule on
  EXPECT_THROW(config.Validate(), std::invalid_argument);
}

}  // namespace
}  // namespace hoverslam::learner
