// Trainer::Update never leaves the model worse than it found it: data that slips past the
// receiver (rewards of 1e30, a behaviour log-probability of -1e30, observations near the
// float limit) makes it skip minibatches or reject the whole update, never train to
// non-finite weights that actors would refuse.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "learner/trainer.h"
#include "tests/learner/trajectories.h"

namespace hoverslam::learner {
namespace {

using testing::kActDim;
using testing::kObsDim;
using testing::MakeBatch;

PpoConfig SmallConfig() {
  PpoConfig config;
  config.hidden = {32, 32};
  return config;
}

// Optimiser steps an update takes when none is skipped.
const int kSteps = SmallConfig().epochs * SmallConfig().minibatches;

std::vector<torch::Tensor> Parameters(Trainer& trainer) {
  std::vector<torch::Tensor> copies;
  for (const torch::Tensor& p : trainer.model()->parameters()) copies.push_back(p.detach().clone());
  return copies;
}

bool Same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

bool AllFinite(Trainer& trainer) {
  for (const torch::Tensor& p : trainer.model()->parameters()) {
    if (!p.isfinite().all().item<bool>()) return false;
  }
  return true;
}

// What an actor does with the published weights: decode and validate them.
wire::DecodeResult ActorsAccept(const Trainer& trainer) {
  std::vector<char> bytes;
  wire::Encode(trainer.Export(1, "run-x", "rocket"), &bytes);
  wire::Weights weights;
  return wire::Decode(bytes.data(), bytes.size(), wire::Limits{}, wire::Expect{}, &weights);
}

// Adam's step counts and moments are those of the snapshot.
void ExpectAdamStateIs(const TrainerSnapshot& snapshot, Trainer& trainer) {
  ASSERT_FALSE(snapshot.adam.empty());
  ASSERT_EQ(trainer.optimizer().state().size(), snapshot.adam.size());
  for (const auto& [key, saved] : snapshot.adam) {
    const auto it = trainer.optimizer().state().find(key);
    ASSERT_NE(it, trainer.optimizer().state().end());
    const auto& now = static_cast<const torch::optim::AdamParamState&>(*it->second);
    EXPECT_EQ(now.step(), saved.step());
    EXPECT_TRUE(torch::equal(now.exp_avg(), saved.exp_avg()));
    EXPECT_TRUE(torch::equal(now.exp_avg_sq(), saved.exp_avg_sq()));
  }
}

// A trainer that has taken one good update, so Adam's moments and the normaliser are not
// the initial ones.
struct Trained {
  explicit Trained(const PpoConfig& config = SmallConfig())
      : trainer(kObsDim, kActDim, config, torch::kCPU) {
    torch::manual_seed(7);
    trainer.Update(MakeBatch(1));
  }
  Trainer trainer;
};

TEST(TrainerGuards, GoodDataTrains) {
  Trained t;
  const std::vector<torch::Tensor> before = Parameters(t.trainer);
  const UpdateStats stats = t.trainer.Update(MakeBatch(2));
  EXPECT_FALSE(Same(before, Parameters(t.trainer)));
  EXPECT_TRUE(AllFinite(t.trainer));
  EXPECT_EQ(stats.transitions, 2 * 16 * 4);
  // The guards stay out of the way of healthy data: every epoch's every minibatch applied.
  EXPECT_FALSE(stats.rejected);
  EXPECT_EQ(stats.skipped_minibatches, 0);
  EXPECT_EQ(stats.applied_minibatches, kSteps);
  EXPECT_EQ(t.trainer.Problem(), std::nullopt);
}

TEST(TrainerGuards, HugeRewardsLeaveParametersFiniteAndUnchanged) {
  Trained t;
  const std::vector<torch::Tensor> before = Parameters(t.trainer);
  const double count = t.trainer.normalizer().count();
  std::vector<wire::Trajectory> batch = MakeBatch(3);
  for (wire::Trajectory& m : batch) {
    for (float& r : m.rewards) r = 1e30f;
  }
  const double lr = t.trainer.lr();
  const UpdateStats stats = t.trainer.Update(batch);
  // The value loss is 0.5 (1e28)^2 = inf in float32: every minibatch is skipped, so nothing
  // is kept, the normaliser's merge of the batch included.
  EXPECT_EQ(stats.skipped_minibatches, kSteps);
  EXPECT_EQ(stats.applied_minibatches, 0);
  EXPECT_TRUE(stats.rejected);
  EXPECT_FALSE(stats.rejected_why.empty());
  EXPECT_TRUE(AllFinite(t.trainer));
  EXPECT_TRUE(Same(before, Parameters(t.trainer)));
  EXPECT_EQ(t.trainer.normalizer().count(), count);  // nothing learned from it at all
  EXPECT_EQ(t.trainer.lr(), lr);
  const wire::DecodeResult r = ActorsAccept(t.trainer);
  EXPECT_TRUE(r) << wire::RejectName(r.reason) << ": " << r.message;
}

TEST(TrainerGuards, AbsurdBehaviourLogpLeavesParametersFinite) {
  Trained t;
  std::vector<wire::Trajectory> batch = MakeBatch(4);
  for (wire::Trajectory& m : batch) {
    for (float& logp : m.logp) logp = -1e30f;  // pi_prox / pi_behaviour = exp(+1e30)
  }
  // Such samples get behaviour weight 0: the policy term drops out of the step, the critic
  // still learns, and nothing becomes non-finite.
  const UpdateStats stats = t.trainer.Update(batch);
  EXPECT_FALSE(stats.rejected);
  EXPECT_TRUE(std::isfinite(stats.pg_loss));
  EXPECT_TRUE(AllFinite(t.trainer));
  EXPECT_EQ(t.trainer.Problem(), std::nullopt);
  const wire::DecodeResult r = ActorsAccept(t.trainer);
  EXPECT_TRUE(r) << wire::RejectName(r.reason) << ": " << r.message;
}

TEST(TrainerGuards, ExplodingGradientsAreSkipped) {
  // The behaviour weight untruncated: its default truncation (2) would keep the data below
  // from reaching the gradient at all.
  PpoConfig config = SmallConfig();
  config.behaviour_weight_max = 1e9f;
  Trained t(config);
  const std::vector<torch::Tensor> before = Parameters(t.trainer);
  std::vector<wire::Trajectory> batch = MakeBatch(5);
  for (wire::Trajectory& m : batch) {
    for (float& logp : m.logp) logp -= 19;  // weight pi_prox / pi_behaviour ~e^19 = 1.8e8
  }
  // Finite loss, but its gradient is w * A * d logp ~ 1e8, far above max_grad_norm_skip
  // (1e3): the clip would turn it into a full step in a direction that says nothing, so
  // every step is skipped and the update rejected.
  const UpdateStats stats = t.trainer.Update(batch);
  EXPECT_EQ(stats.skipped_minibatches, kSteps);
  EXPECT_EQ(stats.applied_minibatches, 0);
  EXPECT_TRUE(stats.rejected);
  EXPECT_TRUE(Same(before, Parameters(t.trainer)));
}

TEST(TrainerGuards, ObservationsNearTheFloatLimitNeverReachTheExport) {
  // Finite in float32 and in the normaliser's float64, but their variance is not a float32:
  // the exported obs_var would be infinite and every actor would refuse the weights.
  Trained t;
  const std::vector<torch::Tensor> before = Parameters(t.trainer);
  const double count = t.trainer.normalizer().count();
  std::vector<wire::Trajectory> batch = MakeBatch(5);
  for (wire::Trajectory& m : batch) {
    for (size_t i = 0; i < m.obs.size(); ++i) m.obs[i] = i % 2 ? 3e38f : -3e38f;
  }
  const TrainerSnapshot snapshot = t.trainer.Snapshot();
  const UpdateStats stats = t.trainer.Update(batch);
  const wire::DecodeResult r = ActorsAccept(t.trainer);
  EXPECT_TRUE(r) << wire::RejectName(r.reason) << ": " << r.message;
  // The steps themselves were fine (normalised inputs are clipped to +-10): only the result
  // was unfit, so the whole update is undone, Adam's state included.
  EXPECT_EQ(stats.skipped_minibatches, 0);
  EXPECT_TRUE(stats.rejected);
  EXPECT_NE(stats.rejected_why.find("observation statistics"), std::string::npos)
      << stats.rejected_why;
  EXPECT_TRUE(Same(before, Parameters(t.trainer)));
  EXPECT_EQ(t.trainer.normalizer().count(), count);
  ExpectAdamStateIs(snapshot, t.trainer);
}

TEST(TrainerGuards, MessagesOfOtherDimsThrowAndChangeNothing) {
  Trained t;
  const std::vector<torch::Tensor> before = Parameters(t.trainer);
  std::vector<wire::Trajectory> batch = MakeBatch(6);
  wire::Trajectory other = batch[0];
  other.Resize(other.num_steps, other.num_envs, kObsDim - 2, kActDim);
  other.final_obs.resize(other.final_idx.size() * (kObsDim - 2));
  batch.push_back(other);
  EXPECT_THROW(t.trainer.Update(batch), std::invalid_argument);
  EXPECT_TRUE(Same(before, Parameters(t.trainer)));
}

TEST(TrainerGuards, ProblemNamesWhatCannotBePublished) {
  Trained t;
  EXPECT_EQ(t.trainer.Problem(), std::nullopt);
  const TrainerSnapshot good = t.trainer.Snapshot();
  {
    torch::NoGradGuard no_grad;
    t.trainer.model()->parameters().back().view({-1})[0] = INFINITY;
  }
  ASSERT_TRUE(t.trainer.Problem());
  EXPECT_NE(t.trainer.Problem()->find("not finite"), std::string::npos) << *t.trainer.Problem();
  t.trainer.Restore(good);
  EXPECT_EQ(t.trainer.Problem(), std::nullopt);
  t.trainer.set_lr(std::nan(""));
  EXPECT_TRUE(t.trainer.Problem());
  t.trainer.Restore(good);
  EXPECT_EQ(t.trainer.Problem(), std::nullopt);
}

}  // namespace
}  // namespace hoverslam::learner
