// The rocket-landing task on top of RocketPhysics: actions, observations,
// rewards, outcomes and the start distribution.
#pragma once

#include <cstdint>

#include "common/env.h"
#include "common/rng.h"
#include "common/rocket_config.h"
#include "common/rocket_physics.h"

namespace hoverslam {

constexpr int kObsDim = 6;  // [x, y, theta, vx, vy, omega]
constexpr int kActDim = 2;  // [thrust, gimbal] in [-1, 1]

// The rocket's EnvSpec under `config` (its time limit is the config's).
EnvSpec RocketSpec(const RocketConfig& config);

// Not thread-safe: one instance per thread.
class RocketEnv : public Env {
 public:
  RocketEnv(const RocketConfig& config, uint64_t seed);

  const EnvSpec& spec() const override { return spec_; }

  // Starts an episode from the spawn distribution and writes its first observation.
  void Reset(float* obs) override;
  // Starts an episode from a given state (tests, replays), with no wind.
  void ResetTo(const RocketState& state, float* obs);

  // Applies `action` (clipped to [-1, 1]) for one step and writes the next
  // observation. Throws std::invalid_argument on a non-finite action. Does not
  // reset: after a terminal step, call Reset.
  StepResult Step(const float* action, float* obs) override;

  // Ends this episode `steps` earlier than the time limit (at least one step remains).
  // Envs started together would otherwise stay in step: see VecEnv::DecorrelateTimeLimits.
  void ShortenEpisode(int steps) override;

  const RocketPhysics& physics() const { return physics_; }
  int episode_steps() const override { return steps_; }
  float episode_return() const override { return return_; }

 private:
  void WriteObs(const RocketState& s, float* obs) const;
  float Potential(const RocketState& s) const;

  RocketConfig config_;
  EnvSpec spec_;
  RocketPhysics physics_;
  Rng rng_;
  float wind_ = 0;
  int steps_ = 0;
  int time_limit_ = 0;  // this episode's; the config's unless shortened
  float return_ = 0;
};

}  // namespace hoverslam
