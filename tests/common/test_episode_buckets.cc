// Episode-length buckets end at the env's time limit, one just below it (worked out by hand).
#include <gtest/gtest.h>

#include <algorithm>

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

TEST(EpisodeReturnBuckets, AreSortedAndFineWhereTrainedPoliciesLand) {
  const Buckets b = EpisodeReturnBuckets();
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  EXPECT_EQ(std::count_if(b.begin(), b.end(), [](double r) { return r >= 110 && r <= 150; }), 5);
}

}  // namespace
}  // namespace hoverslam
