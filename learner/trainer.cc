#include "learner/trainer.h"

#include <map>
#include <stdexcept>

#include "learner/gae.h"
#include "learner/ppo_loss.h"

namespace hoverslam::learner {
namespace {

// A CPU tensor viewing `v` (no copy), shaped `shape`.
template <typename T>
torch::Tensor View(const std::vector<T>& v, std::vector<int64_t> shape, torch::Dtype dtype) {
  return torch::from_blob(const_cast<T*>(v.data()), shape, torch::TensorOptions().dtype(dtype));
}

ActorCritic OnDevice(ActorCritic model, torch::Device device) {
  model->to(device);
  return model;
}

}  // namespace

Trainer::Trainer(int64_t obs_dim, int64_t act_dim, const PpoConfig& config, torch::Device device)
    : config_(config),
      device_(device),
      model_(OnDevice(ActorCritic(obs_dim, act_dim, config), device)),
      normalizer_(obs_dim, config.obs_clip),
      optimizer_(model_->parameters(), torch::optim::AdamOptions(config.lr).eps(1e-5)),
      lr_(config.lr) {}

void Trainer::set_lr(double lr) {
  lr_ = lr;
  for (auto& group : optimizer_.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

Batch Trainer::BuildBatch(const std::vector<wire::Trajectory>& messages) {
  torch::NoGradGuard no_grad;
  const int64_t d = model_->obs_dim(), a = model_->act_dim();
  const size_t count = messages.size();
  std::vector<torch::Tensor> obs, actions, logp, values, adv(count), ret(count), raw;
  std::vector<torch::Tensor> next_values;  // [T, N] per message
  for (const wire::Trajectory& m : messages) {
    if (m.obs_dim != d || m.act_dim != a) {
      throw std::invalid_argument("trajectory dims do not fit the model");
    }
    const int64_t t = m.num_steps, n = m.num_envs;
    const torch::Tensor raw_obs = View(m.obs, {t + 1, n, d}, torch::kFloat32).to(device_);
    const torch::Tensor x = normalizer_.Normalize(raw_obs);
    const torch::Tensor v = model_->Value(x.view({-1, d})).view({t + 1, n});
    // next_values[t] = V(obs[t+1]), except V(final_obs) where the episode was truncated.
    torch::Tensor next_v = v.slice(0, 1).clone();
    if (!m.final_idx.empty()) {
      const int64_t k = static_cast<int64_t>(m.final_idx.size());
      const torch::Tensor final_v = model_->Value(
          normalizer_.Normalize(View(m.final_obs, {k, d}, torch::kFloat32).to(device_)));
      const torch::Tensor idx = View(m.final_idx, {k}, torch::kInt32).to(device_, torch::kLong);
      next_v.view({-1}).index_copy_(0, idx, final_v);
    }
    next_values.push_back(next_v);
    obs.push_back(x.slice(0, 0, t).reshape({-1, d}));
    raw.push_back(raw_obs.slice(0, 0, t).reshape({-1, d}));
    actions.push_back(View(m.actions, {t * n, a}, torch::kFloat32).to(device_));
    logp.push_back(View(m.logp, {t * n}, torch::kFloat32).to(device_));
    values.push_back(v.slice(0, 0, t));  // [T, N] until GAE has read it
  }

  // GAE runs T steps of tensor ops whatever N is, so messages of equal T go through it side by
  // side as one [T, sum N] problem. Every column is its own recursion with elementwise ops
  // only: the result is the same, bit for bit, as one call per message.
  std::map<int64_t, std::vector<size_t>> by_steps;
  for (size_t i = 0; i < count; ++i) by_steps[messages[i].num_steps].push_back(i);
  for (const auto& [t, group] : by_steps) {
    std::vector<torch::Tensor> rewards, v, next_v, terminated, truncated;
    std::vector<int64_t> widths;
    for (size_t i : group) {
      const wire::Trajectory& m = messages[i];
      const int64_t n = m.num_envs;
      rewards.push_back(View(m.rewards, {t, n}, torch::kFloat32));
      terminated.push_back(View(m.terminated, {t, n}, torch::kUInt8));
      truncated.push_back(View(m.truncated, {t, n}, torch::kUInt8));
      v.push_back(values[i]);
      next_v.push_back(next_values[i]);
      widths.push_back(n);
    }
    const GaeResult gae =
        ComputeGae(torch::cat(rewards, 1).to(device_) * config_.reward_scale, torch::cat(v, 1),
                   torch::cat(next_v, 1), torch::cat(terminated, 1).to(device_),
                   torch::cat(truncated, 1).to(device_), config_.gamma, config_.gae_lambda);
    const std::vector<torch::Tensor> a_parts = gae.advantages.split_with_sizes(widths, 1);
    const std::vector<torch::Tensor> r_parts = gae.returns.split_with_sizes(widths, 1);
    for (size_t j = 0; j < group.size(); ++j) {
      adv[group[j]] = a_parts[j].reshape({-1});  // row-major [T, N]: index t * N + n
      ret[group[j]] = r_parts[j].reshape({-1});
    }
  }
  for (torch::Tensor& v : values) v = v.reshape({-1});
  // cat copies, so the views of the messages' buffers do not outlive this call.
  return Batch{torch::cat(obs), torch::cat(actions), torch::cat(logp), torch::cat(values),
               torch::cat(adv), torch::cat(ret),     torch::cat(raw)};
}

UpdateStats Trainer::Update(const std::vector<wire::Trajectory>& messages) {
  Batch batch = BuildBatch(messages);
  const int64_t size = batch.obs.size(0);
  UpdateStats stats;
  stats.transitions = size;
  stats.explained_var = ExplainedVariance(batch.values, batch.returns);
  if (config_.normalize_advantages) batch.advantages = NormalizeAdvantages(batch.advantages);

  const int64_t minibatch = std::max<int64_t>(1, size / config_.minibatches);
  int updates = 0;
  for (int epoch = 0; epoch < config_.epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(size, torch::TensorOptions().device(device_));
    for (int64_t start = 0; start + minibatch <= size; start += minibatch) {
      const torch::Tensor idx = order.slice(0, start, start + minibatch);
      const torch::Tensor obs = batch.obs.index_select(0, idx);
      const torch::Tensor mean = model_->Mean(obs);
      const torch::Tensor new_logp =
          ActorCriticImpl::LogProb(mean, model_->log_std(), batch.actions.index_select(0, idx));
      const PpoLossResult loss =
          PpoLoss(new_logp, batch.logp.index_select(0, idx), batch.advantages.index_select(0, idx),
                  model_->Value(obs), batch.values.index_select(0, idx),
                  batch.returns.index_select(0, idx), model_->Entropy(), config_);
      optimizer_.zero_grad();
      loss.loss.backward();
      torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.max_grad_norm);
      optimizer_.step();

      const double kl = loss.approx_kl.item<double>();
      if (config_.adaptive_lr) set_lr(AdaptiveLr(lr_, kl, config_));
      stats.pg_loss += loss.pg_loss.item<double>();
      stats.v_loss += loss.v_loss.item<double>();
      stats.entropy += loss.entropy.item<double>();
      stats.approx_kl += kl;
      stats.clipfrac += loss.clipfrac.item<double>();
      ++updates;
    }
  }
  for (double* s :
       {&stats.pg_loss, &stats.v_loss, &stats.entropy, &stats.approx_kl, &stats.clipfrac}) {
    *s /= std::max(1, updates);
  }
  stats.lr = lr_;
  normalizer_.Update(batch.raw_obs);
  return stats;
}

wire::Weights Trainer::Export(uint64_t version, const std::string& run,
                              const std::string& env) const {
  return ExportWeights(model_, normalizer_, version, run, env);
}

}  // namespace hoverslam::learner
