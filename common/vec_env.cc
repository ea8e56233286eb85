#include "common/vec_env.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace hoverslam {

VecEnv::VecEnv(const std::string& env, const EnvOptions& options, int num_envs, uint64_t seed) {
  if (num_envs <= 0) throw std::invalid_argument("VecEnv: num_envs must be > 0");
  const EnvEntry& entry = FindEnv(env);
  CheckedSpec(entry, options);  // refuses a bad spec before any env is made
  envs_.reserve(num_envs);
  for (int i = 0; i < num_envs; ++i) envs_.push_back(entry.make(options, EnvSeed(seed, i)));
  obs_dim_ = spec().obs_dim;
  act_dim_ = spec().act_dim;
  time_limit_ = spec().max_episode_steps;
  obs_.assign(num_envs * obs_dim_, 0.0f);
  final_obs_.assign(num_envs * obs_dim_, 0.0f);
  rewards_.assign(num_envs, 0.0f);
  terminated_.assign(num_envs, 0);
  truncated_.assign(num_envs, 0);
  finished_.reserve(num_envs);
  Reset();
}

VecEnv::VecEnv(const RocketConfig& config, int num_envs, uint64_t seed)
    : VecEnv(kDefaultEnvName, EnvOptions{config}, num_envs, seed) {}

void VecEnv::Reset() {
  for (int i = 0; i < num_envs(); ++i) envs_[i]->Reset(&obs_[i * obs_dim_]);
}

void VecEnv::DecorrelateTimeLimits(uint64_t seed) {
  for (int i = 0; i < num_envs(); ++i) {
    Rng rng(EnvSeed(seed, i) ^ 0x5deece66dULL);  // not the env's own stream
    const int limit = time_limit_;
    envs_[i]->ShortenEpisode(std::min(limit - 1, static_cast<int>(rng.Uniform(0, limit))));
  }
}

void VecEnv::Step(const float* actions) {
  const int n = num_envs();
  for (int i = 0; i < n * act_dim_; ++i) {
    if (!std::isfinite(actions[i])) {
      throw std::invalid_argument("VecEnv::Step: non-finite action for env " +
                                  std::to_string(i / act_dim_));
    }
  }
  finished_.clear();
  for (int i = 0; i < n; ++i) {
    float* obs = &obs_[i * obs_dim_];
    const StepResult r = envs_[i]->Step(&actions[i * act_dim_], obs);
    rewards_[i] = r.reward;
    terminated_[i] = r.terminated;
    truncated_[i] = r.truncated;
    if (r.terminated || r.truncated) {
      finished_.push_back({i, envs_[i]->episode_return(), envs_[i]->episode_steps(), r.outcome});
      for (int k = 0; k < obs_dim_; ++k) final_obs_[i * obs_dim_ + k] = obs[k];
      envs_[i]->Reset(obs);
    }
  }
}

}  // namespace hoverslam
