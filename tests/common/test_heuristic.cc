#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "common/heuristic.h"
#include "common/vec_env.h"

namespace hoverslam {
namespace {

// Landed fraction of the first kEpisodes / kEnvs episodes of each of kEnvs envs (so the
// count is not biased toward short episodes).
double HeuristicLandingRate(const RocketConfig& config, int episodes, uint64_t seed) {
  const HeuristicController controller(config.physics);
  constexpr int kEnvs = 50;
  VecEnv env(config, kEnvs, seed);
  std::array<int, kNumOutcomes> outcomes{};
  std::vector<float> actions(kEnvs * kActDim);
  int counted = 0;
  std::vector<int> done_per_env(kEnvs, 0);
  while (counted < episodes) {
    for (int i = 0; i < kEnvs; ++i) controller.Act(env.obs() + i * kObsDim, &actions[i * kActDim]);
    env.Step(actions.data());
    for (const EpisodeInfo& e : env.finished()) {
      if (done_per_env[e.env]++ >= episodes / kEnvs) continue;
      ++outcomes[static_cast<int>(e.outcome)];
      ++counted;
    }
  }
  const int landed = outcomes[static_cast<int>(Outcome::kLanded)];
  std::printf("heuristic, wind +-%.1f N: landed %d crashed %d out_of_bounds %d timeout %d of %d\n",
              config.spawn.wind_max, landed, outcomes[static_cast<int>(Outcome::kCrashed)],
              outcomes[static_cast<int>(Outcome::kOutOfBounds)],
              outcomes[static_cast<int>(Outcome::kTimeout)], counted);
  return static_cast<double>(landed) / counted;
}

TEST(HeuristicController, LandsAtLeast90PercentOf500EpisodesWithoutWind) {
  RocketConfig config;
  config.spawn.wind_max = 0;
  EXPECT_GE(HeuristicLandingRate(config, 500, 2024), 0.9);
}

// The default task has unobserved wind up to +-2 N: the scripted controller, which holds the
// rocket upright over wherever it drifts, lands about 2 in 3 there (measured 68% on 1,000
// held-out episodes), which is the bar a trained policy must clear.
TEST(HeuristicController, DefaultWindDefeatsItOftenButNotAlways) {
  const RocketConfig config;
  ASSERT_EQ(config.spawn.wind_max, 2.0f);
  const double rate = HeuristicLandingRate(config, 500, 2024);
  EXPECT_GT(rate, 0.5);
  EXPECT_LT(rate, 0.85);
}

}  // namespace
}  // namespace hoverslam
