// Episode-length buckets end at the env's time limit, one just below it (worked out by hand).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "common/env_registry.h"
#include "common/envs/lunar_lander/lunar_lander.h"
#include "common/episode_buckets.h"

namespace hoverslam {
namespace {

using Buckets = prometheus::Histogram::BucketBoundaries;

TEST(EpisodeLengthBuckets, EndAtTheTimeLimit) {
  EXPECT_EQ(EpisodeLengthBuckets(1200),
            (Buckets{60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 720, 900, 1199, 1200}));
  EXPECT_EQ(EpisodeLengthBuckets(300), (Buckets{60, 120, 180, 240, 299, 300}));
  EXPECT_EQ(EpisodeLengthBuckets(1), (Buckets{1}));
}

TEST(EpisodeReturnBuckets, AreIncreasingForEveryEnvAndFineWhereTrainedPoliciesScore) {
  for (const EnvEntry& env : EnvRegistry()) {
    const Buckets b = EpisodeReturnBuckets(env.spec(EnvOptions{}));
    EXPECT_TRUE(std::adjacent_find(b.begin(), b.end(), std::greater_equal<>()) == b.end())
        << env.name;
  }
  const auto count_in = [](const Buckets& b, double lo, double hi) {
    return std::count_if(b.begin(), b.end(), [&](double r) { return r >= lo && r <= hi; });
  };
  // The rocket's trained policies score 110-150, LunarLander's 200-300.
  EXPECT_EQ(count_in(EpisodeReturnBuckets(FindEnv("rocket").spec(EnvOptions{})), 110, 150), 5);
  EXPECT_EQ(count_in(EpisodeReturnBuckets(LunarLanderSpec()), 200, 300), 6);
}

}  // namespace
}  // namespace hoverslam
