// N rocket envs stepped together from one action array into preallocated
// buffers, with auto-reset.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

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
  // Env i is seeded with EnvSeed(seed, i).
  VecEnv(const RocketConfig& config, int num_envs, uint64_t seed);

  int num_envs() const { return static_cast<int>(envs_.size()); }

  // Resets every env; obs() then holds the first observations.
  void Reset();

  // Ends each env's current episode early by a uniform draw from [0, time limit), seeded by
  // `seed`. Envs that start together otherwise run in step for as long as their episodes
  // last equally long (every one timing out, early in training), and a batch made of a few
  // short rollouts then holds one narrow slice of the episode. The cut episodes are
  // truncations, bootstrapped like any other, so nothing learned is biased.
  void DecorrelateTimeLimits(uint64_t seed);

  // Steps env i with actions[i * kActDim ...]. An env whose episode ends is reset
  // at once: obs() holds the next episode's first observation, final_obs() the
  // last one of the ended episode. Throws std::invalid_argument naming the env
  // index on a non-finite action, before any env moves. Allocates nothing.
  void Step(const float* actions);

  const float* obs() const { return obs_.data(); }                  // [N, kObsDim]
  const float* rewards() const { return rewards_.data(); }          // [N]
  const uint8_t* terminated() const { return terminated_.data(); }  // [N]
  const uint8_t* truncated() const { return truncated_.data(); }    // [N]
  const float* final_obs() const { return final_obs_.data(); }  // [N, kObsDim], valid where done
  const std::vector<EpisodeInfo>& finished() const { return finished_; }  // this step's episodes

  const RocketEnv& env(int i) const { return *envs_[i]; }

 private:
  int time_limit_;                                // steps per episode, from the config
  std::vector<std::unique_ptr<RocketEnv>> envs_;  // envs own Box2D worlds: not movable
  std::vector<float> obs_, final_obs_, rewards_;
  std::vector<uint8_t> terminated_, truncated_;
  std::vector<EpisodeInfo> finished_;
};

}  // namespace hoverslam
