#include "learner/trainer.h"

#include <chrono>
#include <cmath>
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

// std::invalid_argument unless every message has the model's observation and action sizes.
void CheckDims(const std::vector<wire::Trajectory>& messages, int64_t d, int64_t a) {
  for (const wire::Trajectory& m : messages) {
    if (m.obs_dim != d || m.act_dim != a) {
      throw std::invalid_argument("trajectory dims do not fit the model");
    }
  }
}

// The observations PPO trains on, [sum T * N, D], as the actors saw them: obs[0..T-1] of every
// message (obs[T] bootstraps only).
torch::Tensor RawObs(const std::vector<wire::Trajectory>& messages, int64_t d) {
  std::vector<torch::Tensor> raw;
  for (const wire::Trajectory& m : messages) {
    const int64_t t = m.num_steps, n = m.num_envs;
    raw.push_back(View(m.obs, {t + 1, n, d}, torch::kFloat32).slice(0, 0, t).reshape({-1, d}));
  }
  return torch::cat(raw);
}

// The rows of what the minibatch loop reads, in `order`.
Batch Shuffled(const Batch& b, const torch::Tensor& order) {
  const auto take = [&](const torch::Tensor& t) { return t.index_select(0, order); };
  Batch s;
  s.obs = take(b.obs);
  s.actions = take(b.actions);
  s.prox_mean = take(b.prox_mean);
  s.prox_logp = take(b.prox_logp);
  s.weight = take(b.weight);
  s.values = take(b.values);
  s.advantages = take(b.advantages);
  s.returns = take(b.returns);
  s.collected = take(b.collected);
  return s;
}

// `map` as [index, sign, offset] tensors on `device`; std::invalid_argument unless it is a
// map of `dims` values.
std::array<torch::Tensor, 3> MapTensors(const AffineMap& map, int64_t dims, torch::Device device,
                                        const char* what) {
  std::string problem = map.Problem();
  if (problem.empty() && map.size() != dims) {
    problem = "has " + std::to_string(map.size()) + " entries for " + std::to_string(dims);
  }
  if (!problem.empty()) throw std::invalid_argument(std::string("mirror ") + what + ": " + problem);
  const int64_t n = map.size();
  // clone: to() returns the view itself when nothing changes, and `map` does not outlive this.
  return {View(map.perm, {n}, torch::kInt32).to(device, torch::kLong),
          View(map.sign, {n}, torch::kFloat32).clone().to(device),
          View(map.offset, {n}, torch::kFloat32).clone().to(device)};
}

// Rows of `x` [B, n] through the map: sign * x[:, index] + offset.
torch::Tensor Apply(const std::array<torch::Tensor, 3>& map, const torch::Tensor& x) {
  return x.index_select(1, map[0]) * map[1] + map[2];
}

}  // namespace

Trainer::Trainer(int64_t obs_dim, int64_t act_dim, const PpoConfig& config, torch::Device device,
                 std::optional<MirrorSpec> mirror)
    : config_(config),
      device_(device),
      model_(OnDevice(ActorCritic(obs_dim, act_dim, config), device)),
      normalizer_(obs_dim, config.obs_clip),
      optimizer_(model_->parameters(), torch::optim::AdamOptions(config.lr).eps(1e-5)),
      lr_(config.lr) {
  if (mirror) {
    mirror_obs_ = MapTensors(mirror->obs, obs_dim, device, "obs");
    mirror_act_ = MapTensors(mirror->act, act_dim, device, "act");
  }
}

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
  std::vector<torch::Tensor> obs, actions, logp, values, adv(count), ret(count);
  std::vector<torch::Tensor> next_values;  // [T, N] per message
  // The critic sees every observation and every truncated episode's final observation of the
  // batch in one forward: [sum (T+1) N + sum K, D], split back by these row counts.
  std::vector<torch::Tensor> critic_in;
  std::vector<int64_t> rows;
  std::vector<torch::Tensor> raw_obs(count);
  CheckDims(messages, d, a);
  for (size_t i = 0; i < count; ++i) {
    const wire::Trajectory& m = messages[i];
    const int64_t t = m.num_steps, n = m.num_envs;
    raw_obs[i] = View(m.obs, {t + 1, n, d}, torch::kFloat32).to(device_);
    critic_in.push_back(normalizer_.Normalize(raw_obs[i]).view({-1, d}));
    rows.push_back((t + 1) * n);
  }
  for (const wire::Trajectory& m : messages) {
    if (m.final_idx.empty()) continue;
    const int64_t k = static_cast<int64_t>(m.final_idx.size());
    critic_in.push_back(
        normalizer_.Normalize(View(m.final_obs, {k, d}, torch::kFloat32).to(device_)));
    rows.push_back(k);
  }
  const std::vector<torch::Tensor> critic_out =
      model_->Value(torch::cat(critic_in)).split_with_sizes(rows);
  size_t next_final = count;  // critic_out's first final-observation piece
  for (size_t i = 0; i < count; ++i) {
    const wire::Trajectory& m = messages[i];
    const int64_t t = m.num_steps, n = m.num_envs;
    const torch::Tensor v = critic_out[i].view({t + 1, n});
    // next_values[t] = V(obs[t+1]), except V(final_obs) where the episode was truncated.
    torch::Tensor next_v = v.slice(0, 1).clone();
    if (!m.final_idx.empty()) {
      const int64_t k = static_cast<int64_t>(m.final_idx.size());
      const torch::Tensor idx = View(m.final_idx, {k}, torch::kInt32).to(device_, torch::kLong);
      next_v.view({-1}).index_copy_(0, idx, critic_out[next_final++]);
    }
    next_values.push_back(next_v);
    obs.push_back(critic_in[i].view({t + 1, n, d}).slice(0, 0, t).reshape({-1, d}));
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
  Batch batch;
  batch.obs = torch::cat(obs);
  batch.actions = torch::cat(actions);
  batch.logp = torch::cat(logp);
  batch.prox_mean = model_->Mean(batch.obs);
  batch.prox_logp = ActorCriticImpl::LogProb(batch.prox_mean, model_->log_std(), batch.actions);
  batch.weight = BehaviourWeight(batch.prox_logp, batch.logp, config_.behaviour_weight_max);
  batch.values = torch::cat(values);
  batch.advantages = torch::cat(adv);
  batch.returns = torch::cat(ret);
  std::vector<torch::Tensor> raw_rows;  // obs[0..T-1] of each message: the rows PPO trains on
  for (size_t i = 0; i < count; ++i) {
    raw_rows.push_back(raw_obs[i].slice(0, 0, messages[i].num_steps).reshape({-1, d}));
  }
  batch.raw_obs = torch::cat(raw_rows);
  batch.collected = torch::ones_like(batch.logp);
  return batch;
}

void Trainer::Augment(Batch* batch) {
  if (!mirror_obs_) return;
  torch::NoGradGuard no_grad;
  Batch& b = *batch;
  const torch::Tensor raw = Apply(*mirror_obs_, b.raw_obs);
  const torch::Tensor obs = normalizer_.Normalize(raw);
  const torch::Tensor actions = Apply(*mirror_act_, b.actions);
  const auto twice = [](const torch::Tensor& t, const torch::Tensor& mirrored) {
    return torch::cat({t, mirrored});
  };
  // The mirror image of the proximal policy: its mean at s' is the mirrored mean at s, and it
  // gives a' the log-probability the proximal policy gave a.
  b.prox_logp = twice(b.prox_logp, b.prox_logp);
  b.prox_mean = twice(b.prox_mean, Apply(*mirror_act_, b.prox_mean));
  b.values = twice(b.values, model_->Value(obs));
  b.obs = twice(b.obs, obs);
  b.raw_obs = twice(b.raw_obs, raw);
  b.actions = twice(b.actions, actions);
  b.logp = twice(b.logp, b.logp);
  b.weight = twice(b.weight, b.weight);
  b.advantages = twice(b.advantages, b.advantages);
  b.returns = twice(b.returns, b.returns);
  b.collected = twice(b.collected, torch::zeros_like(b.collected));
}

UpdateStats Trainer::Update(const std::vector<wire::Trajectory>& messages) {
  const TrainerSnapshot before = Snapshot();
  UpdateStats stats;
  try {
    stats = Train(messages);
  } catch (...) {
    Restore(before);
    throw;
  }
  std::optional<std::string> problem = Problem();
  if (!problem && stats.applied_minibatches == 0) {
    problem = "every minibatch was skipped (non-finite loss or exploding gradient)";
  }
  if (problem) {
    Restore(before);
    stats.rejected = true;
    stats.rejected_why = *problem;
    stats.lr = lr_;
  }
  return stats;
}

UpdateStats Trainer::Train(const std::vector<wire::Trajectory>& messages) {
  const auto started = std::chrono::steady_clock::now();
  // The statistics the weights train with are the ones exported with them: this batch is
  // merged first (rsl_rl updates them while collecting). Merged after, every input of the
  // exported policy would shift by the batch's statistics, a change neither the KL nor the
  // clip ever saw.
  CheckDims(messages, model_->obs_dim(), model_->act_dim());
  const torch::Tensor raw_obs = RawObs(messages, model_->obs_dim());
  if (mirror_obs_) {
    // The statistics are of both images, so they are symmetric too (and count both).
    const torch::Tensor raw = raw_obs.to(device_);
    normalizer_.Update(torch::cat({raw, Apply(*mirror_obs_, raw)}));
  } else {
    normalizer_.Update(raw_obs);
  }
  Batch batch = BuildBatch(messages);
  UpdateStats stats;
  stats.transitions = batch.obs.size(0);
  stats.explained_var = ExplainedVariance(batch.values, batch.returns);  // waits for the device
  {
    // KL(behaviour || prox) ~ E_behaviour[(r - 1) - log r], r = pi_prox / pi_behaviour.
    torch::NoGradGuard no_grad;
    const torch::Tensor log_r = (batch.prox_logp - batch.logp).clamp(-kMaxLogRatio, kMaxLogRatio);
    stats.behaviour_kl = (log_r.exp() - 1 - log_r).mean().item<double>();
  }
  Augment(&batch);
  if (config_.normalize_advantages) batch.advantages = NormalizeAdvantages(batch.advantages);
  stats.batch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const int64_t size = batch.obs.size(0);
  const int64_t minibatch = std::max<int64_t>(1, size / config_.minibatches);
  const torch::Tensor prox_log_std = model_->log_std().detach().clone();
  const double desired_kl = config_.DesiredKl(progress_);
  // Statistics stay on the device until the end: one sync per minibatch for the finiteness
  // check and the KL the lr schedule needs, one for the gradient norm.
  std::vector<torch::Tensor> applied;  // [5] per applied minibatch: pg, v, entropy, kl, clipfrac
  int& updates = stats.applied_minibatches;
  for (int epoch = 0; epoch < config_.epochs; ++epoch) {
    // One gather per epoch, then each minibatch is a contiguous slice (a view): the same
    // minibatches as gathering each one by its indices, with an eighth of the gathers.
    const torch::Tensor order = torch::randperm(size, torch::TensorOptions().device(device_));
    const Batch shuffled = Shuffled(batch, order);
    for (int64_t start = 0; start + minibatch <= size; start += minibatch) {
      const auto mb = [&](const torch::Tensor& t) { return t.slice(0, start, start + minibatch); };
      const torch::Tensor obs = mb(shuffled.obs);
      const torch::Tensor mean = model_->Mean(obs);
      const torch::Tensor new_logp =
          ActorCriticImpl::LogProb(mean, model_->log_std(), mb(shuffled.actions));
      // The KL and the clip fraction are read over the collected samples only, as rsl_rl: the
      // lr follows how far the policy moved where it acts. On a mirror image of a lopsided
      // policy both start away from 0 (the image's ratio is against the mirrored proximal
      // policy) without any step taken.
      const torch::Tensor collected = mb(shuffled.collected) > 0;
      const PpoLossResult loss =
          PpoLoss(new_logp, mb(shuffled.prox_logp), mb(shuffled.advantages), model_->Value(obs),
                  mb(shuffled.values), mb(shuffled.returns), model_->Entropy(), config_,
                  mb(shuffled.weight), collected);
      const torch::Tensor kl = MeanOver(GaussianKl(mb(shuffled.prox_mean), prox_log_std,
                                                   mean.detach(), model_->log_std().detach()),
                                        collected);
      const torch::Tensor checks = torch::stack({loss.loss.detach(), kl}).to(torch::kCPU);
      const double loss_value = checks[0].item<double>(), kl_value = checks[1].item<double>();
      optimizer_.zero_grad();
      if (!std::isfinite(loss_value)) {
        ++stats.skipped_minibatches;
        continue;
      }
      loss.loss.backward();
      // clip_grad_norm_ returns the norm before clipping: a non-finite or exploding one would
      // still make a full-length step, in a meaningless direction.
      const double norm =
          torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.max_grad_norm);
      if (!std::isfinite(norm) || norm > config_.max_grad_norm_skip) {
        optimizer_.zero_grad();
        ++stats.skipped_minibatches;
        continue;
      }
      optimizer_.step();
      // As rsl_rl: the KL of the policy before this step from the proximal one sets the lr.
      if (config_.adaptive_lr) set_lr(AdaptiveLr(lr_, kl_value, desired_kl, config_));
      applied.push_back(torch::stack(
          {loss.pg_loss.detach(), loss.v_loss.detach(), loss.entropy.detach(), kl, loss.clipfrac}));
      ++updates;
    }
  }
  if (!applied.empty()) {
    const torch::Tensor means = torch::stack(applied).mean(0).to(torch::kCPU, torch::kDouble);
    const double* m = means.data_ptr<double>();
    stats.pg_loss = m[0], stats.v_loss = m[1], stats.entropy = m[2];
    stats.approx_kl = m[3], stats.clipfrac = m[4];
  }
  stats.lr = lr_;
  return stats;
}

wire::Weights Trainer::Export(uint64_t version, const std::string& run,
                              const std::string& env) const {
  return ExportWeights(model_, normalizer_, version, run, env);
}

}  // namespace hoverslam::learner
