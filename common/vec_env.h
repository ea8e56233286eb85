// N envs of one kind stepped together from one action array into preallocated
// buffers, with auto-reset.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/env_registry.h"
#include "common/rocket_env.h"

namespace hoverslam {

// One finished episode, reported by the step that ended it.
struct EpisodeInfo {
  int env = 0;
  float episode_return = 0;
  int length = 0;
  Outcome outcome = Outcome::kNone;
};

// Not thread-safe: one instance per thread.
class VecEnv {
 public:
  // N envs of the registry's `env`; env i is seeded with EnvSeed(seed, i).
  VecEnv(const std::string& env, const EnvOptions& options, int num_envs, uint64_t seed);
  // N rockets.
  VecEnv(const RocketConfig& config, int num_envs, uint64_t seed);

  int num_envs() const { return static_cast<int>(envs_.size()); }
  const EnvSpec& spec() const { return envs_[0]->spec(); }
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }

  // Resets every env; obs() then holds the first observations.
  void Reset();

  // Ends each env's current episode early by a uniform draw from [0, time limit), seeded by
  // `seed`. Envs that start together otherwise run in step for as long as their episodes
  // last equally long (every one timing out, early in training), and a batch made of a few
  // short rollouts then holds one narrow slice of the episode. The cut episodes are
  // truncations, bootstrapped like any other, so nothing learned is biased.
  void DecorrelateTimeLimits(uint64_t seed);

  // Steps env i with actions[i * act_dim ...]. An env whose episode ends is reset
  // at once: obs() holds the next episode's first observation, final_obs() the
  // last one of the ended episode. Throws std::invalid_argument naming the env
  // index on a non-finite action, before any env moves. Allocates nothing.
  void Step(const float* actions);

  const float* obs() const { return obs_.data(); }                  // [N, obs_dim]
  const float* rewards() const { return rewards_.data(); }          // [N]
  const uint8_t* terminated() const { return terminated_.data(); }  // [N]
  const uint8_t* truncated() const { return truncated_.data(); }    // [N]
  const float* final_obs() const { return final_obs_.data(); }  // [N, obs_dim], valid where done
  const std::vector<EpisodeInfo>& finished() const { return finished_; }  // this step's episodes

  const Env& env(int i) const { return *envs_[i]; }

 private:
  int obs_dim_ = 0, act_dim_ = 0;
  int time_limit_ = 0;                      // steps per episode, from the spec
  std::vector<std::unique_ptr<Env>> envs_;  // envs own Box2D worlds: not movable
  std::vector<float> obs_, final_obs_, rewards_;
  std::vector<uint8_t> terminated_, truncated_;
  std::vector<EpisodeInfo> finished_;
};

}  // namespace hoverslam
