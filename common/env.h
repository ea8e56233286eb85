// The env seam: what every task tells the rest of the system about itself (EnvSpec), and
// the single env that VecEnv, the actor, hoverslam-eval and the benchmarks step. A task
// is one folder that implements Env, plus one entry in common/env_registry.cc.
#pragma once

#include <string>
#include <vector>

#include "common/outcome.h"

namespace hoverslam {

// The env every binary trains and evaluates unless --env names another.
inline constexpr char kDefaultEnvName[] = "rocket";

struct EnvSpec {
  std::string name;  // the registry's key and the wire's `env`
  int obs_dim = 0;
  int act_dim = 0;
  // Each action dim's bounds. The policy's Gaussian is unbounded and the env owns the clip
  // to these. The policy starts with means near 0 and a std of 0.6, so a task learns best with
  // bounds near [-1, 1]: scale a simulator's own units inside its Env.
  std::vector<float> action_low;
  std::vector<float> action_high;
  int max_episode_steps = 0;  // time limit: its end is a truncation (Outcome::kTimeout)
  double step_seconds = 0;    // simulated time per step
  // What each of the four ended outcomes (landed, crashed, out_of_bounds, timeout) means
  // here, in Outcome order: hoverslam-eval's table shows it. Metric labels keep the shared
  // names so dashboards work for every env.
  std::vector<std::string> outcome_meanings;
  // Upper bounds of the episode-return histogram, from the task's reward scale.
  std::vector<double> return_buckets;
};

// "" when the spec is whole and consistent, else what is wrong with it: every registered
// env's spec must pass (tests/common/test_env_registry.cc).
std::string CheckSpec(const EnvSpec& spec);

struct StepResult {
  float reward = 0;
  bool terminated = false;  // ended by the task
  bool truncated = false;   // ended by the time limit
  Outcome outcome = Outcome::kNone;
};

// One episode at a time. Not thread-safe: one instance per thread.
class Env {
 public:
  virtual ~Env() = default;

  virtual const EnvSpec& spec() const = 0;
  // Starts an episode from the task's start distribution; writes obs[spec().obs_dim].
  virtual void Reset(float* obs) = 0;
  // Applies `action` (act_dim values, clipped to the spec's bounds) for one step and writes the
  // next observation. Throws std::invalid_argument on a non-finite action. Does not reset.
  virtual StepResult Step(const float* action, float* obs) = 0;
  // Ends this episode `steps` earlier than the time limit (at least one step remains).
  virtual void ShortenEpisode(int steps) = 0;
  virtual int episode_steps() const = 0;
  virtual float episode_return() const = 0;
};

}  // namespace hoverslam
