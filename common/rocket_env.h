// The rocket-landing task on top of RocketPhysics: actions, observations,
// rewards, outcomes and the start distribution.
#pragma once

#include <cstdint>

#include "common/outcome.h"
#include "common/rng.h"
#include "common/rocket_config.h"
#include "common/rocket_physics.h"

namespace hoverslam {

constexpr int kObsDim = 6;  // [x, y, theta, vx, vy, omega]
constexpr int kActDim = 2;  // [thrust, gimbal] in [-1, 1]

struct StepResult {
  float reward = 0;
  bool terminated = false;  // ended by the task: landed, crashed, out_of_bounds
  bool truncated = false;   // ended by the time limit
  Outcome outcome = Outcome::kNone;
};

// Not thread-safe: one instance per thread.
class RocketEnv {
 public:
  RocketEnv(const RocketConfig& config, uint64_t seed);

  // Starts an episode from the spawn distribution and writes its first observation.
  void Reset(float* obs);
  // Starts an episode from a given state (tests, replays), with no wind.
  void ResetTo(const RocketState& state, float* obs);

  // Applies `action` (clipped to [-1, 1]) for one step and writes the next
  // observation. Throws std::invalid_argument on a non-finite action. Does not
  // reset: after a terminal step, call Reset.
  StepResult Step(const float* action, float* obs);

  // Ends this episode `steps` earlier than the time limit (at least one step remains).
  // Envs started together would otherwise stay in step: see VecEnv::DecorrelateTimeLimits.
  void ShortenEpisode(int steps);

  const RocketPhysics& physics() const { return physics_; }
  int episode_steps() const { return steps_; }
  float episode_return() const { return return_; }

 private:
  void WriteObs(const RocketState& s, float* obs) const;
  float Potential(const RocketState& s) const;

  RocketConfig config_;
  RocketPhysics physics_;
  Rng rng_;
  float wind_ = 0;
  int steps_ = 0;
  int time_limit_ = 0;  // this episode's; the config's unless shortened
  float return_ = 0;
};

}  // namespace hoverslam
