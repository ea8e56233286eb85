#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "common/rng.h"
#include "common/rocket_env.h"

namespace hoverslam {
namespace {

constexpr float kHover = 2.0f * 9.81f / 15.0f - 1.0f;  // thrust action that cancels gravity
constexpr float kDeg = 3.14159265358979f / 180.0f;

// Steps with a constant action until the episode ends; returns the last result.
StepResult RunConstant(RocketEnv& env, float a0, float a1, int max_steps = 2000) {
  float obs[kObsDim];
  const float action[kActDim] = {a0, a1};
  StepResult r;
  for (int i = 0; i < max_steps; ++i) {
    r = env.Step(action, obs);
    if (r.terminated || r.truncated) break;
  }
  return r;
}

TEST(RocketEnv, GentleUprightTouchdownLands) {
  RocketEnv env(RocketConfig{}, 1);
  float obs[kObsDim];
  env.ResetTo({40, 2.05f, 0, 0, -0.3f, 0}, obs);
  const StepResult r = RunConstant(env, kHover, 0);
  EXPECT_EQ(r.outcome, Outcome::kLanded);
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(OutcomeName(r.outcome), "landed");
}

TEST(RocketEnv, FastTouchdownCrashes) {
  RocketEnv env(RocketConfig{}, 1);
  float obs[kObsDim];
  env.ResetTo({40, 2.1f, 0, 0, -3.0f, 0}, obs);
  const StepResult r = RunConstant(env, -1, 0);
  EXPECT_EQ(r.outcome, Outcome::kCrashed);
  EXPECT_TRUE(r.terminated);
}

// The crash step's reward minus its shaping (-Phi(before), as Phi(terminal) = 0 and the
// fuel cost is off): the graded crash term alone.
float CrashTerm(float vy) {
  RocketConfig config;
  config.reward.fuel_cost = 0;
  RocketEnv env(config, 1);
  float obs[kObsDim];
  env.ResetTo({40, 2.1f, 0, 0, vy, 0}, obs);
  const float off[kActDim] = {-1, 0};
  StepResult r;
  float phi_before = 0;
  do {
    // Phi = -(distance to the resting point + speed + 5 |theta|), from the observation.
    phi_before = -(std::hypot(obs[0] - 40.0f, obs[1] - 2.0f) + std::hypot(obs[3], obs[4]) +
                   5.0f * std::abs(obs[2]));
    r = env.Step(off, obs);
  } while (!r.terminated);
  EXPECT_EQ(r.outcome, Outcome::kCrashed);
  return r.reward + phi_before;
}

TEST(RocketEnv, CrashPenaltyGrowsWithExcessAndIsFloored) {
  // Upright, vx = 0: severity = |vy| / 0.7 - 1 at touchdown; reward -10 - 10 * severity.
  // The base is 0.1 m up; at 3 m/s it closes 0.05 m a step, so contact is in step 2. Each
  // step is v = (v + 9.81 / 60) / (1 + 1.5 / 60): 3.0864, then 3.1706 m/s at touchdown,
  // so -10 - 10 * (3.1706 / 0.7 - 1) = -45.29.
  EXPECT_NEAR(CrashTerm(-3.0f), -45.29f, 0.01f);
  // At 9 m/s the grade would be -10 - 10 * 11.9 = -129: floored at crash_min_reward.
  EXPECT_FLOAT_EQ(CrashTerm(-9.0f), -100.0f);
}

TEST(RocketEnv, SidewaysTouchdownCrashes) {
  RocketEnv env(RocketConfig{}, 1);
  float obs[kObsDim];
  env.ResetTo({40, 2.05f, 0, 1.5f, -0.3f, 0}, obs);  // |vx| 1.5 > 0.7
  EXPECT_EQ(RunConstant(env, kHover, 0).outcome, Outcome::kCrashed);
}

TEST(RocketEnv, TiltedTouchdownCrashes) {
  RocketEnv env(RocketConfig{}, 1);
  float obs[kObsDim];
  // A 20 degree tilt lowers the corner to y - (2 cos 20 + 1 sin 20) = y - 2.22 m.
  env.ResetTo({40, 2.3f, 20 * kDeg, 0, -0.3f, 0}, obs);
  const StepResult r = RunConstant(env, kHover, 0);
  EXPECT_EQ(r.outcome, Outcome::kCrashed);
}

TEST(RocketEnv, LeavingTheWorldIsOutOfBounds) {
  RocketEnv env(RocketConfig{}, 1);
  float obs[kObsDim];
  env.ResetTo({79.5f, 20, 0, 5.0f, 0, 0}, obs);
  StepResult r = RunConstant(env, kHover, 0);
  EXPECT_EQ(r.outcome, Outcome::kOutOfBounds);
  EXPECT_TRUE(r.terminated);
  EXPECT_FALSE(r.truncated);

  env.ResetTo({40, 43, 0, 0, 0, 0}, obs);
  r = RunConstant(env, 1.0f, 0);  // full thrust through the ceiling
  EXPECT_EQ(r.outcome, Outcome::kOutOfBounds);
}

TEST(RocketEnv, TimeLimitTruncatesWithoutTerminating) {
  RocketConfig config;
  config.max_episode_steps = 10;
  RocketEnv env(config, 1);
  float obs[kObsDim];
  env.ResetTo({40, 20, 0, 0, 0, 0}, obs);
  const float hover[kActDim] = {kHover, 0};
  for (int i = 1; i < 10; ++i) {
    const StepResult r = env.Step(hover, obs);
    ASSERT_EQ(r.outcome, Outcome::kNone) << "step " << i;
    ASSERT_FALSE(r.terminated || r.truncated);
  }
  const StepResult r = env.Step(hover, obs);
  EXPECT_EQ(r.outcome, Outcome::kTimeout);
  EXPECT_TRUE(r.truncated);
  EXPECT_FALSE(r.terminated);
  EXPECT_EQ(env.episode_steps(), 10);
}

TEST(RocketEnv, ShapingTelescopesToMinusInitialPotential) {
  // With Phi(terminal) = 0, sum_t gamma^t (gamma Phi(s_t+1) - Phi(s_t)) = -Phi(s_0),
  // so the discounted return is -Phi(s_0) + gamma^(T-1) * terminal reward.
  RocketConfig config;
  config.reward.fuel_cost = 0;
  config.reward.shaping_gamma = 0.99f;  // the invariant form (the default, 1, is a special case)
  RocketEnv env(config, 1);
  float obs[kObsDim];
  env.ResetTo({40, 2.05f, 0, 0, -0.3f, 0}, obs);
  // Phi(s_0) = -(distance 0.05 m + speed 0.3 m/s + 5 * tilt 0) = -0.35.
  const double gamma = config.reward.shaping_gamma;
  double discounted = 0, discount = 1;
  const float hover[kActDim] = {kHover, 0};
  StepResult r;
  int steps = 0;
  do {
    r = env.Step(hover, obs);
    discounted += discount * r.reward;
    discount *= gamma;
    ++steps;
  } while (!r.terminated && steps < 100);
  ASSERT_EQ(r.outcome, Outcome::kLanded);
  // Landed on the pad centre: landed_reward 100 + full pad_reward 50.
  EXPECT_NEAR(discounted, 0.35 + std::pow(gamma, steps - 1) * 150.0, 1e-3);
}

TEST(RocketEnv, NonFiniteActionThrowsAndOutOfRangeIsClipped) {
  RocketEnv a(RocketConfig{}, 7), b(RocketConfig{}, 7);
  float obs_a[kObsDim], obs_b[kObsDim];
  a.ResetTo({40, 20, 0, 0, 0, 0}, obs_a);
  b.ResetTo({40, 20, 0, 0, 0, 0}, obs_b);
  const float nan_action[kActDim] = {std::nanf(""), 0};
  EXPECT_THROW(a.Step(nan_action, obs_a), std::invalid_argument);
  const float inf_action[kActDim] = {0, INFINITY};
  EXPECT_THROW(a.Step(inf_action, obs_a), std::invalid_argument);

  const float big[kActDim] = {5.0f, -7.0f}, clipped[kActDim] = {1.0f, -1.0f};
  for (int i = 0; i < 20; ++i) {
    a.Step(big, obs_a);
    b.Step(clipped, obs_b);
    ASSERT_EQ(std::memcmp(obs_a, obs_b, sizeof(obs_a)), 0) << "step " << i;
  }
}

TEST(RocketEnv, SameSeedSameSpawnOtherSeedOther) {
  RocketEnv a(RocketConfig{}, 42), b(RocketConfig{}, 42), c(RocketConfig{}, 43);
  float oa[kObsDim], ob[kObsDim], oc[kObsDim];
  a.Reset(oa);
  b.Reset(ob);
  c.Reset(oc);
  EXPECT_EQ(std::memcmp(oa, ob, sizeof(oa)), 0);
  EXPECT_NE(std::memcmp(oa, oc, sizeof(oa)), 0);
  // Inside the documented spawn ranges.
  EXPECT_GE(oa[0], 10.0f);
  EXPECT_LE(oa[0], 70.0f);
  EXPECT_GE(oa[1], 30.0f);
  EXPECT_LE(oa[1], 40.0f);
  EXPECT_LE(std::abs(oa[2]), 15 * kDeg);
}

TEST(RocketEnv, CurriculumStartsItsFractionOfEpisodesLower) {
  RocketConfig config;
  config.spawn.low_fraction = 0.25f;
  config.spawn.low_y_min = 6.0f;
  RocketEnv env(config, 7);
  float obs[kObsDim];
  const int episodes = 4000;
  int low = 0;
  for (int i = 0; i < episodes; ++i) {
    env.Reset(obs);
    ASSERT_GE(obs[1], 6.0f);
    ASSERT_LE(obs[1], 40.0f);
    low += obs[1] < 30.0f;
  }
  // Binomial(4000, 0.25): mean 1000, sd 27.4; +-4 sd.
  EXPECT_NEAR(low, 1000, 110);
}

TEST(RocketEnv, CurriculumOffLeavesEverySeedsEpisodeAsItWas) {
  // Held-out evaluations are compared across versions by seed: without the curriculum the
  // env must draw exactly the states it drew before the curriculum existed, in this order.
  RocketConfig off;
  off.spawn.low_y_min = 10.0f;
  RocketEnv env(off, 11);
  Rng rng(11);
  float obs[kObsDim];
  for (int i = 0; i < 100; ++i) {
    env.Reset(obs);
    const float x = 40.0f + rng.Uniform(-30.0f, 30.0f), y = rng.Uniform(30.0f, 40.0f);
    const float theta = rng.Uniform(-15.0f, 15.0f) * kDeg, vx = rng.Uniform(-2.0f, 2.0f);
    const float vy = rng.Uniform(-2.0f, 0.0f), omega = rng.Uniform(-0.1f, 0.1f);
    rng.Uniform(-2.0f, 2.0f);  // the wind
    ASSERT_NEAR(obs[0], x, 1e-4f) << "episode " << i;
    ASSERT_NEAR(obs[1], y, 1e-4f) << "episode " << i;
    ASSERT_NEAR(obs[2], theta, 1e-5f) << "episode " << i;
    ASSERT_NEAR(obs[3], vx, 1e-5f) << "episode " << i;
    ASSERT_NEAR(obs[4], vy, 1e-5f) << "episode " << i;
    ASSERT_NEAR(obs[5], omega, 1e-5f) << "episode " << i;
  }
}

TEST(RocketConfig, ValidateNamesTheBadField) {
  RocketConfig config;
  config.spawn.y_min = 50;
  try {
    config.Validate();
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spawn.y_min"), std::string::npos) << e.what();
  }
  for (auto [fraction, y_min, field] :
       {std::tuple{1.5f, 5.0f, "spawn.low_fraction"}, std::tuple{0.5f, 1.0f, "spawn.low_y_min"},
        std::tuple{0.5f, 35.0f, "spawn.low_y_min"}}) {
    RocketConfig bad;
    bad.spawn.low_fraction = fraction;
    bad.spawn.low_y_min = y_min;
    try {
      bad.Validate();
      ADD_FAILURE() << field << ": expected invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  }
  RocketConfig ok;
  EXPECT_NO_THROW(ok.Validate());
  // With the curriculum off its height is not checked: evaluation may spawn lower.
  ok.spawn.y_min = 4.0f;
  EXPECT_NO_THROW(ok.Validate());
}

}  // namespace
}  // namespace hoverslam
