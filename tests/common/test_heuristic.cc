#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "common/heuristic.h"
#include "common/vec_env.h"

namespace hoverslam {
namespace {

TEST(HeuristicController, LandsAtLeast90PercentOf500DefaultEpisodes) {
  const RocketConfig config;
  const HeuristicController controller(config.physics);
  constexpr int kEnvs = 50, kEpisodes = 500;
  VecEnv env(config, kEnvs, 2024);
  std::array<int, 5> outcomes{};
  std::vector<float> actions(kEnvs * kActDim);
  int episodes = 0;
  // Each env contributes its first 10 episodes, so the count is unbiased by length.
  std::vector<int> done_per_env(kEnvs, 0);
  while (episodes < kEpisodes) {
    for (int i = 0; i < kEnvs; ++i) controller.Act(env.obs() + i * kObsDim, &actions[i * kActDim]);
    env.Step(actions.data());
    for (const EpisodeInfo& e : env.finished()) {
      if (done_per_env[e.env]++ >= kEpisodes / kEnvs) continue;
      ++outcomes[static_cast<int>(e.outcome)];
      ++episodes;
    }
  }
  const double landed =
      static_cast<double>(outcomes[static_cast<int>(Outcome::kLanded)]) / episodes;
  std::printf("heuristic: landed %d crashed %d out_of_bounds %d timeout %d of %d\n", outcomes[1],
              outcomes[2], outcomes[3], outcomes[4], episodes);
  EXPECT_GE(landed, 0.9);
}

}  // namespace
}  // namespace hoverslam
