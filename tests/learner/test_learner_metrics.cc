// Policy-lag buckets end at the largest lag the learner accepts (worked out by hand).
#include <gtest/gtest.h>

#include "learner/learner_config.h"
#include "learner/learner_metrics.h"

namespace hoverslam::learner {
namespace {

using Buckets = prometheus::Histogram::BucketBoundaries;

TEST(PolicyLagBuckets, EveryLagUpToTheLimit) {
  EXPECT_EQ(PolicyLagBuckets(0), (Buckets{0}));
  EXPECT_EQ(PolicyLagBuckets(1), (Buckets{0, 1}));
  EXPECT_EQ(PolicyLagBuckets(4), (Buckets{0, 1, 2, 3, 4}));  // the default
  EXPECT_EQ(PolicyLagBuckets(8), (Buckets{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(PolicyLagBuckets, DoublingPastEightAndEndingAtTheLimit) {
  EXPECT_EQ(PolicyLagBuckets(10), (Buckets{0, 1, 2, 3, 4, 5, 6, 7, 8, 10}));
  EXPECT_EQ(PolicyLagBuckets(64), (Buckets{0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64}));
  const Buckets largest = PolicyLagBuckets(kMaxPolicyLagLimit);
  EXPECT_EQ(largest.back(), static_cast<double>(kMaxPolicyLagLimit));
  EXPECT_EQ(largest.size(), 9u + 16u + 1u);  // 0..8, then 16 = 2^4 .. 2^19, then 1e6
}

}  // namespace
}  // namespace hoverslam::learner
