// Evaluation: a fixed, seeded set of an env's episodes played by a policy file, the
// scripted heuristic or uniform random actions, and the statistics of how they end.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env_registry.h"
#include "common/outcome.h"
#include "common/policy.h"
#include "common/rocket_config.h"
#include "common/rocket_physics.h"

namespace hoverslam::eval {

enum class ControllerKind : uint8_t { kPolicy, kHeuristic, kRandom };

// "policy", "heuristic", "random": the JSON line's `controller`.
std::string_view ControllerName(ControllerKind kind);

struct EvalConfig {
  std::string env_name = kDefaultEnvName;  // the task, by registry name
  RocketConfig env;                        // the rocket's settings (--env-* flags)
  int episodes = 100;         // episode i starts a fresh env seeded with EnvSeed(seed, i)
  uint64_t seed = 1000;       // the launcher's periodic evaluation uses 1000
  bool deterministic = true;  // policy: act with the mean (else sample)
  int record_episodes = 0;    // keep the trajectories of the first this many (for rendering)

  // Throws std::invalid_argument naming the first bad field.
  void Validate() const;
  EnvOptions options() const { return EnvOptions{env}; }
  EnvSpec spec() const { return CheckedSpec(FindEnv(env_name), options()); }
};

struct EpisodeResult {
  Outcome outcome = Outcome::kNone;
  float episode_return = 0;
  int length = 0;                // env steps
  bool touched_down = false;     // landed or crashed
  float touchdown_speed = 0;     // sqrt(vx^2 + vy^2) at impact, m/s
  float touchdown_tilt_deg = 0;  // |theta| at impact
};

// One step of a recorded episode: the state after it and the clipped controls that
// led there (thrust in [0, 1] of max, gimbal in [-1, 1] of max; both 0 at the start).
struct TracePoint {
  RocketState state;
  float thrust = 0;
  float gimbal = 0;
};

// One step of a recorded LunarLander episode: the hull and both legs (position of the body
// origin, m, and angle, rad) and the engines the step fired.
struct LunarPoint {
  float x[3] = {}, y[3] = {}, angle[3] = {};  // hull, leg 0 (+x side), leg 1 (-x side)
  float main = 0;                             // 0, or 0.5-1 of full power
  float side = 0;                             // 0, or +-0.5-1: which side engine, how hard
};

struct EpisodeTrace {
  int episode = 0;                 // index in the evaluation
  EpisodeResult result;            // how it ended
  std::vector<TracePoint> points;  // the rocket: length + 1, the start, then every step
  std::vector<LunarPoint> lunar;   // LunarLander: the same, for its bodies
  std::vector<float> terrain;      // LunarLander: the heights of its terrain's chunks, m
};

// Appends what the env's GIF scene draws of its state after a step (`action` nullptr: the
// episode's start) to `trace`. `env` is of the env the recorder was found for.
using TraceRecorder = void (*)(EpisodeTrace& trace, const Env& env, const float* action);

// The recorder of the env named `env`, or nullptr for an env hoverslam-eval does not draw
// (eval/env_traces.cc: one line per env).
TraceRecorder FindTraceRecorder(const std::string& env);

struct EvalResult {
  std::vector<EpisodeResult> episodes;  // in episode order
  std::vector<EpisodeTrace> traces;     // the first record_episodes episodes
};

// Plays config.episodes episodes. `policy` is used (and its scratch buffers written)
// when kind is kPolicy and must then be non-null. Episode i's result depends only on
// the controller, the env config, the seed and i, bit for bit: not on how many
// episodes run in all. Throws std::invalid_argument on a bad config.
EvalResult Evaluate(const EvalConfig& config, ControllerKind kind, Policy* policy);

struct EvalSummary {
  int episodes = 0;
  std::array<int, 4> counts{};  // by outcome, in kEndedOutcomes order
  int touchdowns = 0;           // first ground contacts the env reports (the rocket's)
  double mean_return = 0;
  double std_return = 0;               // population standard deviation of the returns
  double mean_touchdown_speed = 0;     // over touchdowns; 0 when there are none
  double mean_touchdown_tilt_deg = 0;  // over touchdowns; 0 when there are none
  double mean_length = 0;              // env steps

  int count(Outcome outcome) const;
  double rate(Outcome outcome) const;  // count / episodes (0 when there are none)
};

EvalSummary Summarize(const std::vector<EpisodeResult>& episodes);

// The last line hoverslam-eval prints: one JSON object whose first nine keys (eval,
// episodes, the four rates, mean_return, mean_touchdown_speed, mean_touchdown_tilt_deg)
// keep this order; then mean_length, policy_version (null without a policy),
// controller, seed and std_return.
std::string SummaryJson(const EvalSummary& summary, const std::string& env, ControllerKind kind,
                        std::optional<uint64_t> policy_version, uint64_t seed);

// Builds the policy of `env` from one wire v1 weights message of any training run, and
// reports its run id in `*run` (may be null). Throws std::runtime_error saying why:
// not a valid weights message, or the wrong dims.
Policy DecodePolicy(const std::vector<char>& bytes, const EnvSpec& env, std::string* run);

// Reads an exported policy (one wire v1 weights message, as the learner writes
// policy.msgpack) and builds it for `env`. Throws std::runtime_error naming
// the file and why: unreadable, not a valid weights message, or the wrong dims.
Policy LoadPolicyFile(const std::string& path, const EnvSpec& env);

}  // namespace hoverslam::eval
