#include "learner/gae.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace hoverslam::learner {
namespace {

torch::Tensor Col(std::vector<float> values) {
  return torch::tensor(values).reshape({static_cast<int64_t>(values.size()), 1});
}

void ExpectNear(const torch::Tensor& actual, const torch::Tensor& expected, double tol = 1e-5) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/0, tol)) << "actual\n"
                                                                  << actual << "\nexpected\n"
                                                                  << expected;
}

// T = 3, N = 1, gamma = 0.5, lambda = 0.5 (gamma * lambda = 0.25):
//   t | r | V(s_t) | next_values            | terminated | truncated
//   0 | 1 |   2    | 3 = V(s_1)             |     0      |     0
//   1 | 2 |   3    | 4 = V(final_obs)       |     0      |     1
//   2 | 3 |   1    | 10 = V(next ep. start) |     1      |     0
// delta_2 = 3 + 0.5 * 10 * (1 - 1) - 1 = 2                     (terminated: no bootstrap)
// A_2     = 2 + 0.25 * 0 * A_3 = 2                             (A_3 = 0, and done anyway)
// delta_1 = 2 + 0.5 * 4 * (1 - 0) - 3 = 1                      (truncated: bootstrap V(final_obs))
// A_1     = 1 + 0.25 * (1 - 1) * A_2 = 1                       (truncated: recursion cut)
// delta_0 = 1 + 0.5 * 3 - 2 = 0.5
// A_0     = 0.5 + 0.25 * (1 - 0) * A_1 = 0.75
// returns = A + V = [2.75, 4, 3]
TEST(Gae, ThreeStepsByHand) {
  const torch::Tensor values = Col({2, 3, 1}).requires_grad_();
  const GaeResult gae =
      ComputeGae(Col({1, 2, 3}), values, Col({3, 4, 10}), Col({0, 0, 1}), Col({0, 1, 0}), 0.5, 0.5);
  ExpectNear(gae.advantages, Col({0.75f, 1.0f, 2.0f}));
  ExpectNear(gae.returns, Col({2.75f, 4.0f, 3.0f}));
  // Targets, not functions of the critic.
  EXPECT_FALSE(gae.advantages.requires_grad());
  EXPECT_FALSE(gae.returns.requires_grad());
  // The flags as they come off the wire (u8) or as masks (bool) mean the same.
  const GaeResult flags =
      ComputeGae(Col({1, 2, 3}), values, Col({3, 4, 10}), Col({0, 0, 1}).to(torch::kUInt8),
                 Col({0, 1, 0}).to(torch::kBool), 0.5, 0.5);
  ExpectNear(flags.advantages, gae.advantages, 0);
}

// Random [T, N] batch with both kinds of episode end.
struct Batch {
  torch::Tensor rewards, values, next_values, terminated, truncated;
};

Batch RandomBatch(int64_t steps, int64_t envs) {
  Batch b;
  b.rewards = torch::randn({steps, envs});
  b.values = torch::randn({steps, envs});
  b.next_values = torch::randn({steps, envs});
  b.terminated = torch::rand({steps, envs}) < 0.2;
  b.truncated = torch::logical_and(torch::rand({steps, envs}) < 0.2, b.terminated.logical_not());
  return b;
}

// gamma = 0: nothing downstream counts, so A_t = r_t - V(s_t).
TEST(Gae, GammaZeroIsRewardMinusValue) {
  torch::manual_seed(1);
  const Batch b = RandomBatch(7, 3);
  ASSERT_TRUE(b.terminated.any().item<bool>() && b.truncated.any().item<bool>());
  const GaeResult gae =
      ComputeGae(b.rewards, b.values, b.next_values, b.terminated, b.truncated, 0.0, 0.95);
  ExpectNear(gae.advantages, b.rewards - b.values);
  ExpectNear(gae.returns, b.rewards);
}

// lambda = 0: one-step TD error, A_t = r_t + gamma V(s_{t+1}) (1 - terminated_t) - V(s_t).
TEST(Gae, LambdaZeroIsOneStepTd) {
  torch::manual_seed(2);
  const Batch b = RandomBatch(7, 3);
  const double gamma = 0.9;
  const GaeResult gae =
      ComputeGae(b.rewards, b.values, b.next_values, b.terminated, b.truncated, gamma, 0.0);
  const torch::Tensor td =
      b.rewards + gamma * b.next_values * (1 - b.terminated.to(torch::kFloat)) - b.values;
  ExpectNear(gae.advantages, td);
}

// lambda = gamma = 1, no episode ends, next_values consistent (next_values[t] = values[t+1]):
// the values telescope and A_t = sum_{k >= t} r_k + V(s_T) - V(s_t), the return-to-go
// (bootstrapped by the last next_value) minus the value.
TEST(Gae, LambdaGammaOneIsReturnToGoMinusValue) {
  torch::manual_seed(3);
  const int64_t steps = 6, envs = 4;
  const torch::Tensor rewards = torch::randn({steps, envs});
  const torch::Tensor all_values = torch::randn({steps + 1, envs});  // V(s_0) .. V(s_T)
  const torch::Tensor values = all_values.slice(0, 0, steps);
  const torch::Tensor next_values = all_values.slice(0, 1, steps + 1);
  const torch::Tensor none = torch::zeros({steps, envs}, torch::kBool);
  const GaeResult gae = ComputeGae(rewards, values, next_values, none, none, 1.0, 1.0);

  // Reverse cumulative sum: return_to_go[t] = sum_{k >= t} r_k.
  const torch::Tensor return_to_go = rewards.flip(0).cumsum(0).flip(0);
  ExpectNear(gae.advantages, return_to_go + all_values[steps] - values, 1e-4);
  ExpectNear(gae.returns, return_to_go + all_values[steps], 1e-4);
}

TEST(Gae, RejectsMismatchedShapes) {
  const torch::Tensor x = torch::zeros({3, 2});
  EXPECT_THROW(ComputeGae(x, x, torch::zeros({3, 1}), x, x, 0.99, 0.95), std::invalid_argument);
  EXPECT_THROW(ComputeGae(torch::zeros({3}), torch::zeros({3}), torch::zeros({3}),
                          torch::zeros({3}), torch::zeros({3}), 0.99, 0.95),
               std::invalid_argument);
}

}  // namespace
}  // namespace hoverslam::learner
