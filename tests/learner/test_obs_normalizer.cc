#include "learner/obs_normalizer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hoverslam::learner {
namespace {

// Merging batch statistics (Chan et al.) must equal the statistics of the concatenation.
TEST(ObsNormalizer, MergingBatchesEqualsConcatenation) {
  torch::manual_seed(5);
  const torch::Tensor a = torch::randn({37, 3}) * 4 + 10;
  const torch::Tensor b = torch::randn({5, 3}) * 0.5 - 2;
  const torch::Tensor c = torch::randn({1, 3});
  ObsNormalizer merged(3);
  merged.Update(a);
  merged.Update(b);
  merged.Update(c);

  const torch::Tensor all = torch::cat({a, b, c}).to(torch::kFloat64);
  EXPECT_EQ(merged.count(), 43.0);
  EXPECT_TRUE(torch::allclose(merged.mean(), all.mean(0), 0, 1e-12)) << merged.mean();
  EXPECT_TRUE(torch::allclose(merged.var(), all.var(0, /*unbiased=*/false), 0, 1e-10))
      << merged.var();

  ObsNormalizer once(3);
  once.Update(all);
  EXPECT_TRUE(torch::allclose(merged.var(), once.var(), 0, 1e-10));
}

// Statistics mean [1, 10], var [4, 0.25] (std 2, 0.5); clip 3:
//   obs [2, 10.5] -> [(2 - 1) / 2, (10.5 - 10) / 0.5] = [0.5, 1]
//   obs [101, 0]  -> [100 / 2 = 50 -> 3, -10 / 0.5 = -20 -> -3]
TEST(ObsNormalizer, NormalizesAndClips) {
  // Before any data: mean 0, var 1, the identity inside the clip.
  {
    ObsNormalizer fresh(2);
    const torch::Tensor obs = torch::tensor({{0.5f, -3.0f}});
    EXPECT_TRUE(torch::allclose(fresh.Normalize(obs), obs, 1e-6, 1e-6));
    fresh.Update(torch::zeros({0, 2}));  // an empty batch changes nothing
    EXPECT_EQ(fresh.count(), 0.0);
  }
  ObsNormalizer normalizer(2, /*clip=*/3.0f);
  normalizer.Load({torch::tensor({1.0, 10.0}, torch::kFloat64),
                   torch::tensor({4.0, 0.25}, torch::kFloat64), 100.0});
  const torch::Tensor out = normalizer.Normalize(torch::tensor({{2.0f, 10.5f}, {101.0f, 0.0f}}));
  EXPECT_EQ(out.scalar_type(), torch::kFloat32);
  const torch::Tensor expected = torch::tensor({{0.5f, 1.0f}, {3.0f, -3.0f}});
  EXPECT_TRUE(torch::allclose(out, expected, 0, 1e-5)) << out;
}

TEST(ObsNormalizer, StateRoundTripsAndBadInputThrows) {
  torch::manual_seed(6);
  ObsNormalizer a(4);
  a.Update(torch::randn({20, 4}) * 3);
  ObsNormalizer b(4);
  b.Load(a.state());
  EXPECT_EQ(b.count(), a.count());
  EXPECT_TRUE(torch::equal(b.mean(), a.mean()));
  EXPECT_TRUE(torch::equal(b.var(), a.var()));
  // The saved state is a copy: updating the source does not change it.
  const ObsNormalizer::State saved = a.state();
  a.Update(torch::ones({3, 4}));
  EXPECT_FALSE(torch::equal(saved.mean, a.mean()));

  ObsNormalizer normalizer(3);
  EXPECT_THROW(normalizer.Update(torch::zeros({4, 2})), std::invalid_argument);
  EXPECT_THROW(normalizer.Update(torch::zeros({3})), std::invalid_argument);
  EXPECT_THROW(normalizer.Load({torch::zeros({2}), torch::ones({2}), 1.0}), std::invalid_argument);
  EXPECT_THROW(normalizer.Load({torch::zeros({3}), -torch::ones({3}), 1.0}), std::invalid_argument);
  EXPECT_THROW(normalizer.Load({torch::zeros({3}), torch::ones({3}), -1.0}), std::invalid_argument);
}

}  // namespace
}  // namespace hoverslam::learner
