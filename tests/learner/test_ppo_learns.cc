// End to end on a task whose answer is known: GAE, the loss, the model, the normaliser and the
// adaptive lr together must move the policy mean to the optimum.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "learner/gae.h"
#include "learner/obs_normalizer.h"
#include "learner/policy_model.h"
#include "learner/ppo_loss.h"

namespace hoverslam::learner {
namespace {

// One-step episodes: the observation is noise, the reward -sum_i (clip(a_i) - 0.5)^2 is best
// at a = [0.5, 0.5] whatever the observation, and every step terminates.
TEST(PpoLearns, OneStepTaskMovesMeanToOptimum) {
  torch::manual_seed(0);
  constexpr int64_t kObsDim = 3, kActDim = 2, kBatch = 256, kUpdates = 30;
  PpoConfig config;
  config.hidden = {32, 32};
  config.lr = 1e-3;
  ActorCritic model(kObsDim, kActDim, config);
  ObsNormalizer normalizer(kObsDim, config.obs_clip);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
  double lr = config.lr;
  const int64_t minibatch = kBatch / config.minibatches;
  {
    // The output layer starts near zero, so the test cannot pass without learning.
    torch::NoGradGuard no_grad;
    const torch::Tensor start = model->Mean(normalizer.Normalize(torch::randn({100, kObsDim})));
    ASSERT_GT((start - 0.5).abs().min().item<double>(), 0.4);
  }

  for (int update = 0; update < kUpdates; ++update) {
    // Roll out: T = 1 step of N = kBatch envs, with the behaviour policy frozen.
    torch::Tensor obs, actions, logp, values, rewards;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor raw = torch::randn({kBatch, kObsDim}) * 3 + 1;
      normalizer.Update(raw);
      obs = normalizer.Normalize(raw);
      const torch::Tensor mean = model->Mean(obs);
      actions = mean + model->log_std().exp() * torch::randn_like(mean);
      logp = ActorCriticImpl::LogProb(mean, model->log_std(), actions);
      values = model->Value(obs);
      rewards = -(actions.clamp(-1, 1) - 0.5).square().sum(-1);
    }
    const torch::Tensor ones = torch::ones({1, kBatch});
    const GaeResult gae =
        ComputeGae(rewards.unsqueeze(0), values.unsqueeze(0), torch::zeros({1, kBatch}), ones,
                   torch::zeros({1, kBatch}), config.gamma, config.gae_lambda);
    torch::Tensor advantages = gae.advantages[0];
    const torch::Tensor returns = gae.returns[0];
    if (config.normalize_advantages) advantages = NormalizeAdvantages(advantages);

    for (int epoch = 0; epoch < config.epochs; ++epoch) {
      const torch::Tensor order = torch::randperm(kBatch);
      for (int64_t start = 0; start < kBatch; start += minibatch) {
        const torch::Tensor idx = order.slice(0, start, start + minibatch);
        const torch::Tensor new_mean = model->Mean(obs.index({idx}));
        const torch::Tensor new_logp =
            ActorCriticImpl::LogProb(new_mean, model->log_std(), actions.index({idx}));
        const PpoLossResult out = PpoLoss(new_logp, logp.index({idx}), advantages.index({idx}),
                                          model->Value(obs.index({idx})), values.index({idx}),
                                          returns.index({idx}), model->Entropy(), config);
        optimizer.zero_grad();
        out.loss.backward();
        torch::nn::utils::clip_grad_norm_(model->parameters(), config.max_grad_norm);
        optimizer.step();
        lr = AdaptiveLr(lr, out.approx_kl.item<double>(), config);
        static_cast<torch::optim::AdamOptions&>(optimizer.param_groups()[0].options()).lr(lr);
      }
    }
  }

  torch::NoGradGuard no_grad;
  const torch::Tensor mean =
      model->Mean(normalizer.Normalize(torch::randn({1000, kObsDim}) * 3 + 1));
  // The policy mean over states is the answer; single states keep a little of the noise
  // the network fitted to the random observations along the way.
  const torch::Tensor average = mean.mean(0);
  EXPECT_LT((average - 0.5).abs().max().item<double>(), 0.1) << average;
  EXPECT_LT((mean - 0.5).abs().max().item<double>(), 0.35) << mean.std(0);
}

}  // namespace
}  // namespace hoverslam::learner
