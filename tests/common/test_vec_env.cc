#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"
#include "common/vec_env.h"

namespace hoverslam {
namespace {

void RandomActions(Rng& rng, std::vector<float>& actions) {
  for (float& a : actions) a = rng.Uniform(-1.0f, 1.0f);
}

TEST(VecEnv, SameSeedIsBitIdenticalFor2000RandomSteps) {
  VecEnv a(RocketConfig{}, 4, 1234), b(RocketConfig{}, 4, 1234);
  Rng rng_a(9), rng_b(9);
  std::vector<float> act_a(4 * kActDim), act_b(4 * kActDim);
  int episodes = 0;
  for (int t = 0; t < 2000; ++t) {
    RandomActions(rng_a, act_a);
    RandomActions(rng_b, act_b);
    a.Step(act_a.data());
    b.Step(act_b.data());
    ASSERT_EQ(std::memcmp(a.obs(), b.obs(), 4 * kObsDim * sizeof(float)), 0) << "step " << t;
    ASSERT_EQ(std::memcmp(a.rewards(), b.rewards(), 4 * sizeof(float)), 0) << "step " << t;
    episodes += static_cast<int>(a.finished().size());
  }
  EXPECT_GT(episodes, 4);  // resets happened and stayed in lockstep
}

TEST(VecEnv, EnvsOfOneSeedDifferAndSeedsDiffer) {
  VecEnv a(RocketConfig{}, 2, 1), b(RocketConfig{}, 2, 2);
  EXPECT_NE(std::memcmp(a.obs(), a.obs() + kObsDim, kObsDim * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.obs(), b.obs(), kObsDim * sizeof(float)), 0);
}

TEST(VecEnv, AutoResetKeepsFinalObservation) {
  RocketConfig config;
  config.max_episode_steps = 5;
  VecEnv env(config, 3, 7);
  std::vector<float> first(env.obs(), env.obs() + 3 * kObsDim);
  std::vector<float> hover(3 * kActDim, 0.0f);
  std::vector<float> before_last;
  for (int t = 1; t <= 5; ++t) {
    before_last.assign(env.obs(), env.obs() + 3 * kObsDim);
    env.Step(hover.data());
    if (t < 5) {
      ASSERT_TRUE(env.finished().empty());
    }
  }
  ASSERT_EQ(env.finished().size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(env.truncated()[i], 1);
    EXPECT_EQ(env.terminated()[i], 0);
    EXPECT_EQ(env.finished()[i].env, i);
    EXPECT_EQ(env.finished()[i].length, 5);
    EXPECT_EQ(env.finished()[i].outcome, Outcome::kTimeout);
    // The final obs continues the episode (it fell a little since the step before)...
    EXPECT_LT(env.final_obs()[i * kObsDim + 1], before_last[i * kObsDim + 1]);
    // ...and obs() already holds a fresh spawn, not the first episode's start.
    EXPECT_NE(
        std::memcmp(env.obs() + i * kObsDim, first.data() + i * kObsDim, kObsDim * sizeof(float)),
        0);
    EXPECT_GE(env.obs()[i * kObsDim + 1], 30.0f);
  }
}

TEST(VecEnv, NonFiniteActionNamesTheEnvAndMovesNothing) {
  VecEnv env(RocketConfig{}, 4, 3);
  std::vector<float> before(env.obs(), env.obs() + 4 * kObsDim);
  std::vector<float> actions(4 * kActDim, 0.0f);
  actions[3 * kActDim + 1] = std::nanf("");
  try {
    env.Step(actions.data());
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("env 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::memcmp(before.data(), env.obs(), before.size() * sizeof(float)), 0);
}

TEST(VecEnv, BuffersAreStableAcrossSteps) {
  VecEnv env(RocketConfig{}, 8, 3);
  const float* obs = env.obs();
  const float* rewards = env.rewards();
  std::vector<float> actions(8 * kActDim, 0.0f);
  for (int t = 0; t < 100; ++t) env.Step(actions.data());
  EXPECT_EQ(obs, env.obs());
  EXPECT_EQ(rewards, env.rewards());
}

}  // namespace
}  // namespace hoverslam

namespace hoverslam {
namespace {

// Steps of each env's first two truncations, hovering (thrust = weight: a0 = 2 * 9.8 / 15 - 1)
// under a 40-step time limit, so every episode ends by the clock.
std::vector<std::vector<int>> TruncationSteps(bool decorrelate, uint64_t seed) {
  RocketConfig config;
  config.max_episode_steps = 40;
  VecEnv env(config, 16, seed);
  if (decorrelate) env.DecorrelateTimeLimits(seed);
  std::vector<float> hover(16 * kActDim, 0.0f);
  for (int i = 0; i < 16; ++i) hover[i * kActDim] = 2 * 9.8f / 15 - 1;
  std::vector<std::vector<int>> steps(16);
  for (int t = 1; t <= 80; ++t) {
    env.Step(hover.data());
    for (int i = 0; i < 16; ++i) {
      EXPECT_FALSE(env.terminated()[i]) << "env " << i << " ended by the task at step " << t;
      if (env.truncated()[i]) steps[i].push_back(t);
    }
  }
  return steps;
}

TEST(VecEnv, EnvsStartedTogetherTruncateTogether) {
  for (const std::vector<int>& s : TruncationSteps(false, 7)) {
    EXPECT_EQ(s, (std::vector<int>{40, 80}));
  }
}

TEST(VecEnv, DecorrelatedFirstEpisodesEndAtSpreadStepsThenRunFull) {
  const auto steps = TruncationSteps(true, 7);
  std::vector<int> first;
  for (const std::vector<int>& s : steps) {
    ASSERT_GE(s.size(), 1u);
    EXPECT_GE(s[0], 1);
    EXPECT_LE(s[0], 40);
    if (s.size() > 1) {
      EXPECT_EQ(s[1], s[0] + 40);  // later episodes get the whole limit
    }
    first.push_back(s[0]);
  }
  std::sort(first.begin(), first.end());
  const auto distinct = std::unique(first.begin(), first.end()) - first.begin();
  EXPECT_GE(distinct, 8) << "16 uniform draws from 40 steps should rarely collide this much";
  EXPECT_EQ(TruncationSteps(true, 7), steps);  // seeded
}

}  // namespace
}  // namespace hoverslam
