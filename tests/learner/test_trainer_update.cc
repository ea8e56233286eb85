// Trainer::Update itself, not a copy of its loop: the statistics it exports are those it
// trained with, and on a small task with time limits (truncations inside messages, bootstrapped
// from final_obs) its real minibatching, reward scaling and normaliser order learn the answer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <vector>

#include "learner/trainer.h"
#include "tests/learner/trajectories.h"

namespace hoverslam::learner {
namespace {

using testing::kActDim;
using testing::kObsDim;
using testing::MakeBatch;

// Behaviour log-probabilities as the trainer's policy, with its present statistics, gives them.
void ActAsTheTrainer(Trainer& trainer, std::vector<wire::Trajectory>* messages) {
  torch::NoGradGuard no_grad;
  for (wire::Trajectory& m : *messages) {
    const int64_t rows = int64_t{m.num_steps} * m.num_envs;
    const torch::Tensor obs = torch::tensor(m.obs)
                                  .reshape({m.num_steps + 1, m.num_envs, kObsDim})
                                  .slice(0, 0, m.num_steps);
    const torch::Tensor mean =
        trainer.model()->Mean(trainer.normalizer().Normalize(obs.reshape({rows, kObsDim})));
    const torch::Tensor logp = ActorCriticImpl::LogProb(
        mean, trainer.model()->log_std(), torch::tensor(m.actions).reshape({rows, kActDim}));
    std::copy(logp.data_ptr<float>(), logp.data_ptr<float>() + rows, m.logp.begin());
  }
}

// The first update of a run: the actors acted with the initial statistics (identity), the
// batch moves them far (rocket observations are tens of metres). The update must train with
// the statistics it exports, so the policy it improves (the proximal one) already reads the
// new statistics and differs from the behaviour policy. Merged only after training, the
// update would improve exactly the behaviour policy (behaviour_kl 0) and then be exported
// with inputs it never saw.
TEST(TrainerUpdate, ExportsTheStatisticsItTrainedWith) {
  torch::manual_seed(1);
  PpoConfig config;
  config.adaptive_lr = false;
  config.lr = 1e-12;  // parameters stay put: the KL is the normaliser's alone
  config.epochs = 1;
  config.minibatches = 1;
  Trainer trainer(kObsDim, kActDim, config, torch::kCPU);
  std::vector<wire::Trajectory> messages = MakeBatch(7);
  ActAsTheTrainer(trainer, &messages);

  const UpdateStats s = trainer.Update(messages);
  ASSERT_FALSE(s.rejected) << s.rejected_why;
  EXPECT_GT(s.behaviour_kl, 1e-4);
  EXPECT_LT(s.approx_kl, 1e-6);                                 // the parameters did not move
  EXPECT_NEAR(trainer.normalizer().count(), 2 * 16 * 4, 1e-9);  // every step of the batch
}

// Data two versions old: the behaviour policy's mean is 0.5 away from the trainer's on every
// action dimension. With the parameters held still (lr 1e-12), the policy did not move in this
// update, so the KL that steers the lr and the clip fraction must say so; measured against the
// behaviour policy they would report the 0.5 gap (KL ~ 2 x 0.5^2 / (2 x 0.61^2) = 0.68, most
// ratios clipped), and the adaptive lr would shrink for a step it never took.
TEST(TrainerUpdate, KlAndClipAreMeasuredFromThePolicyAtTheStartOfTheUpdate) {
  torch::manual_seed(2);
  PpoConfig config;
  config.lr = 1e-5;
  config.lr_min = 1e-14;
  Trainer trainer(kObsDim, kActDim, config, torch::kCPU);
  trainer.set_lr(1e-12);
  std::vector<wire::Trajectory> messages = MakeBatch(9);
  trainer.normalizer().Update(torch::tensor(messages[0].obs).reshape({-1, kObsDim}));
  ActAsTheTrainer(trainer, &messages);
  // Shift every action by +0.5 and score it under N(mean + 0.5, sigma): the logp is unchanged,
  // but it now belongs to another policy.
  for (wire::Trajectory& m : messages) {
    for (float& a : m.actions) a += 0.5f;
  }

  const UpdateStats s = trainer.Update(messages);
  ASSERT_FALSE(s.rejected) << s.rejected_why;
  EXPECT_LT(s.approx_kl, 1e-6);
  EXPECT_EQ(s.clipfrac, 0.0);
  EXPECT_GT(s.behaviour_kl, 0.1);  // the gap is seen, as the data's, not the update's
  EXPECT_GE(trainer.lr(), 1e-12);  // never lowered for the data's gap
}

// Reach the goal: obs [p, g], p' = p + 0.1 clip(a), reward -|p' - g|, every episode cut by the
// time limit after kHorizon steps (truncated, never terminated), p and g drawn in [-1, 1].
// Messages of T = 16 steps hold episodes of 20, so truncations fall inside messages and
// episodes span them, as the actors send them.
class ReachEnv {
 public:
  static constexpr int kObs = 2, kAct = 1, kHorizon = 20;

  ReachEnv(int n, uint32_t seed) : p_(n), g_(n), steps_(n), rng_(seed) {
    for (int i = 0; i < n; ++i) Reset(i);
  }
  int size() const { return static_cast<int>(p_.size()); }
  void Obs(int i, float* out) const { out[0] = p_[i], out[1] = g_[i]; }

  // Steps env i; true when its time limit cut the episode (then it has been reset).
  bool Step(int i, float action, float* reward, float final_obs[kObs]) {
    p_[i] += 0.1f * std::clamp(action, -1.f, 1.f);
    *reward = -std::abs(p_[i] - g_[i]);
    if (++steps_[i] < kHorizon) return false;
    Obs(i, final_obs);
    Reset(i);
    return true;
  }

 private:
  void Reset(int i) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    p_[i] = u(rng_), g_[i] = u(rng_), steps_[i] = 0;
  }
  std::vector<float> p_, g_;
  std::vector<int> steps_;
  std::mt19937 rng_;
};

// One message of T steps of every env, sampled from the trainer's policy as an actor would.
// Returns the mean reward per step.
double Collect(Trainer& trainer, ReachEnv& env, int t, std::mt19937& rng, wire::Trajectory* m) {
  constexpr int d = ReachEnv::kObs, a = ReachEnv::kAct;
  const int n = env.size();
  m->run = "run-reach";
  m->actor = "actor-0";
  m->Resize(t, n, d, a);
  m->final_idx.clear();
  m->final_obs.clear();
  std::normal_distribution<float> normal;
  torch::NoGradGuard no_grad;
  const float sigma = std::exp(trainer.model()->log_std().item<float>());
  double reward_sum = 0;
  for (int step = 0; step <= t; ++step) {
    for (int i = 0; i < n; ++i) env.Obs(i, &m->obs[(step * n + i) * d]);
    if (step == t) break;  // obs[T]: the bootstrap observation
    const torch::Tensor obs = torch::from_blob(&m->obs[step * n * d], {n, d}).clone();
    const torch::Tensor mean = trainer.model()->Mean(trainer.normalizer().Normalize(obs));
    for (int i = 0; i < n; ++i) {
      const float mu = mean[i][0].item<float>(), z = normal(rng);
      const size_t k = static_cast<size_t>(step * n + i);
      m->actions[k] = mu + sigma * z;
      m->logp[k] = -0.5f * z * z - std::log(sigma) - 0.9189385f;
      float final_obs[d];
      if (env.Step(i, m->actions[k], &m->rewards[k], final_obs)) {
        m->truncated[k] = 1;
        m->final_idx.push_back(static_cast<uint32_t>(k));
        m->final_obs.insert(m->final_obs.end(), final_obs, final_obs + d);
      }
      reward_sum += m->rewards[k];
    }
  }
  return reward_sum / (t * n);
}

// Mean distance to the goal after a whole episode of the policy's mean action.
double DeterministicMiss(Trainer& trainer, int episodes) {
  torch::NoGradGuard no_grad;
  const torch::Tensor g = torch::linspace(-0.9, 0.9, episodes);
  torch::Tensor p = -g;  // start across from the goal: 1.8 m away at the ends
  for (int step = 0; step < ReachEnv::kHorizon; ++step) {
    const torch::Tensor mean =
        trainer.model()->Mean(trainer.normalizer().Normalize(torch::stack({p, g}, 1)));
    p = p + 0.1 * mean.squeeze(1).clamp(-1, 1);
  }
  return (p - g).abs().mean().item<double>();
}

TEST(TrainerUpdate, LearnsToReachTheGoalThroughTimeLimits) {
  torch::manual_seed(3);
  PpoConfig config;
  config.hidden = {32, 32};
  config.gamma = 0.95f;
  config.reward_scale = 0.1f;
  Trainer trainer(ReachEnv::kObs, ReachEnv::kAct, config, torch::kCPU);
  ReachEnv env(32, 5);
  std::mt19937 rng(11);
  const double miss_before = DeterministicMiss(trainer, 19);

  constexpr int kUpdates = 60, kT = 16, kMessages = 2;  // 1,024 transitions an update
  double first_reward = 0, last_reward = 0;
  int truncations = 0;
  for (int update = 0; update < kUpdates; ++update) {
    std::vector<wire::Trajectory> batch(kMessages);
    double reward = 0;
    for (wire::Trajectory& m : batch) {
      reward += Collect(trainer, env, kT, rng, &m) / kMessages;
      truncations += static_cast<int>(m.final_idx.size());
    }
    if (update == 0) first_reward = reward;
    last_reward = reward;
    const UpdateStats s = trainer.Update(batch);
    ASSERT_FALSE(s.rejected) << s.rejected_why;
  }
  // 60 updates x 1,024 steps / 20-step episodes: about 3,000 cut by the time limit.
  EXPECT_GT(truncations, 2500);
  const double miss_after = DeterministicMiss(trainer, 19);
  // Standing still misses by 1.8 at the ends, 0.95 on average; the best policy by 0 (it has
  // 2 m of travel in 20 steps, and the goals are at most 1.8 m away).
  EXPECT_GT(miss_before, 0.6);
  EXPECT_LT(miss_after, 0.15) << "from " << miss_before;
  EXPECT_GT(last_reward, first_reward + 0.2) << first_reward << " -> " << last_reward;
}

// A mirror that flips every observation and action sign (the tests' toy task has no symmetry
// of its own; the update's bookkeeping does not need one).
MirrorSpec FlipAll() {
  MirrorSpec m;
  for (int i = 0; i < kObsDim; ++i) {
    m.obs.perm.push_back(i), m.obs.sign.push_back(-1), m.obs.offset.push_back(0);
  }
  for (int i = 0; i < kActDim; ++i) {
    m.act.perm.push_back(i), m.act.sign.push_back(-1), m.act.offset.push_back(0);
  }
  return m;
}

// Augment appends the mirror image of every sample: observations through the mirror and the
// normaliser, actions mirrored, and what a symmetric task shares between the two copied.
TEST(TrainerUpdate, AugmentAppendsTheMirrorImageOfEverySample) {
  torch::manual_seed(3);
  Trainer trainer(kObsDim, kActDim, PpoConfig{}, torch::kCPU, FlipAll());
  std::vector<wire::Trajectory> messages = MakeBatch(11);
  ActAsTheTrainer(trainer, &messages);
  trainer.normalizer().Update(torch::tensor(messages[0].obs).reshape({-1, kObsDim}));
  Batch b = trainer.BuildBatch(messages);
  const int64_t n = b.obs.size(0);
  const Batch original = b;
  trainer.Augment(&b);
  ASSERT_EQ(b.obs.size(0), 2 * n);
  const auto second = [n](const torch::Tensor& t) { return t.slice(0, n, 2 * n); };
  EXPECT_TRUE(torch::allclose(second(b.raw_obs), -original.raw_obs));
  EXPECT_TRUE(torch::allclose(second(b.obs), trainer.normalizer().Normalize(-original.raw_obs)));
  EXPECT_TRUE(torch::allclose(second(b.actions), -original.actions));
  EXPECT_TRUE(torch::allclose(second(b.prox_mean), -original.prox_mean));
  // The mirrored proximal policy gives each mirrored action the copied log-probability.
  EXPECT_TRUE(torch::allclose(
      ActorCriticImpl::LogProb(second(b.prox_mean), trainer.model()->log_std(), second(b.actions)),
      second(b.prox_logp), 1e-5, 1e-5));
  for (auto [copy, from] : {std::pair{&b.logp, &original.logp},
                            {&b.prox_logp, &original.prox_logp},
                            {&b.weight, &original.weight},
                            {&b.advantages, &original.advantages},
                            {&b.returns, &original.returns}}) {
    EXPECT_TRUE(torch::equal(second(*copy), *from));
  }
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(second(b.values), trainer.model()->Value(second(b.obs))));
  EXPECT_EQ(b.collected.sum().item<float>(), n);
  EXPECT_EQ(second(b.collected).sum().item<float>(), 0);
  // The first half is untouched.
  EXPECT_TRUE(torch::equal(b.obs.slice(0, 0, n), original.obs));
}

// A map under which the freshly initialised policy is not symmetric (it is under FlipAll: a tanh
// network without biases is odd): the first two observations swap places.
MirrorSpec SwapFirstTwo() {
  MirrorSpec m = FlipAll();
  m.obs.perm[0] = 1, m.obs.perm[1] = 0;
  for (float& sign : m.obs.sign) sign = 1;
  for (float& sign : m.act.sign) sign = 1;
  return m;
}

// With the parameters held still, the KL that steers the lr and the clip fraction see no
// movement: they are read on the collected samples, where the ratio starts at 1. On the images
// of a lopsided policy both would start away from 0. Transitions count what actors sent.
TEST(TrainerUpdate, MirroredUpdateReportsTheCollectedSamples) {
  torch::manual_seed(3);
  PpoConfig config;
  config.adaptive_lr = false;
  config.lr = 1e-12;
  Trainer trainer(kObsDim, kActDim, config, torch::kCPU, SwapFirstTwo());
  std::vector<wire::Trajectory> messages = MakeBatch(11);
  ActAsTheTrainer(trainer, &messages);
  const UpdateStats s = trainer.Update(messages);
  ASSERT_FALSE(s.rejected) << s.rejected_why;
  EXPECT_LT(s.approx_kl, 1e-6);
  EXPECT_LT(s.clipfrac, 1e-6);
  EXPECT_EQ(s.transitions, 2 * 16 * 4);
}

}  // namespace
}  // namespace hoverslam::learner
