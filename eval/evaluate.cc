#include "eval/evaluate.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>

#include "common/protocol.h"
#include "common/rng.h"
#include "common/rocket_env.h"

namespace hoverslam::eval {
namespace {

constexpr float kRadToDeg = 180.0f / 3.14159265358979f;

// Episodes step together in slots of a batch this wide, so the policy runs one
// product per step. The batch is always full (idle slots repeat their last
// observation): each policy call has the same shape, so an episode's actions do not
// depend on how many others are still running, nor on how many episodes there are.
constexpr int kBatch = 16;

// Action noise of episode i: a stream apart from the env's own EnvSeed(seed, i).
uint64_t ActionSeed(uint64_t seed, int episode) {
  return EnvSeed(EnvSeed(seed, static_cast<uint64_t>(episode)), 1);
}

int OutcomeIndex(Outcome outcome) { return static_cast<int>(outcome) - 1; }

std::string JsonNumber(double x) {
  if (!std::isfinite(x)) return "null";  // never expected; keeps the line valid JSON
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

}  // namespace

std::string_view ControllerName(ControllerKind kind) {
  switch (kind) {
    case ControllerKind::kPolicy:
      return "policy";
    case ControllerKind::kHeuristic:
      return "heuristic";
    case ControllerKind::kRandom:
      return "random";
  }
  return "unknown";
}

void EvalConfig::Validate() const {
  RequireKnownEnv(env_name);
  env.Validate();
  if (episodes < 1) {
    throw std::invalid_argument("episodes must be >= 1, got " + std::to_string(episodes));
  }
  if (record_episodes < 0) {
    throw std::invalid_argument("record_episodes must be >= 0, got " +
                                std::to_string(record_episodes));
  }
}

EvalResult Evaluate(const EvalConfig& config, ControllerKind kind, Policy* policy) {
  config.Validate();
  if (kind == ControllerKind::kPolicy && policy == nullptr) {
    throw std::invalid_argument("Evaluate: the policy controller needs a policy");
  }
  const EnvEntry& entry = FindEnv(config.env_name);
  const EnvOptions options = config.options();
  const Controller heuristic = entry.heuristic(options);
  const EnvSpec spec = CheckedSpec(entry, options);
  const int obs_dim = spec.obs_dim, act_dim = spec.act_dim;
  EvalResult result;
  result.episodes.resize(config.episodes);
  result.traces.resize(std::min(config.episodes, config.record_episodes));

  // Envs own Box2D worlds and cannot move: slots hold them in place.
  std::vector<std::unique_ptr<Env>> envs(kBatch);
  std::vector<int> episode_of(kBatch, -1);  // -1: idle
  std::vector<Rng> rngs(kBatch);
  std::vector<float> obs(kBatch * obs_dim, 0.0f), actions(kBatch * act_dim, 0.0f), logp(kBatch);
  int next = 0, running = 0;
  const auto rocket_of = [](const Env& env) { return dynamic_cast<const RocketEnv*>(&env); };
  // What the env's renderer needs of its state after each step (and at the start); none for an
  // env that is not drawn.
  const TraceRecorder recorder = FindTraceRecorder(config.env_name);
  const auto record = [&](EpisodeTrace& trace, const Env& env, const float* a) {
    if (recorder) recorder(trace, env, a);
  };

  const auto start = [&](int slot) {
    const int i = next++;
    episode_of[slot] = i;
    envs[slot] = entry.make(options, EnvSeed(config.seed, static_cast<uint64_t>(i)));
    envs[slot]->Reset(&obs[slot * obs_dim]);
    rngs[slot] = Rng(ActionSeed(config.seed, i));
    if (i < static_cast<int>(result.traces.size())) {
      result.traces[i].episode = i;
      record(result.traces[i], *envs[slot], nullptr);
    }
    ++running;
  };
  for (int slot = 0; slot < kBatch && next < config.episodes; ++slot) start(slot);

  while (running > 0) {
    if (kind == ControllerKind::kPolicy) {
      policy->Act(obs.data(), kBatch, rngs.data(), config.deterministic, actions.data(),
                  logp.data());
    }
    for (int slot = 0; slot < kBatch; ++slot) {
      const int i = episode_of[slot];
      if (i < 0) continue;
      float* a = &actions[slot * act_dim];
      if (kind == ControllerKind::kHeuristic) {
        heuristic(&obs[slot * obs_dim], a);
      } else if (kind == ControllerKind::kRandom) {
        for (int k = 0; k < act_dim; ++k) {
          a[k] = rngs[slot].Uniform(spec.action_low[k], spec.action_high[k]);
        }
      }
      Env& env = *envs[slot];
      const StepResult step = env.Step(a, &obs[slot * obs_dim]);
      if (i < static_cast<int>(result.traces.size())) record(result.traces[i], env, a);
      if (step.outcome == Outcome::kNone) continue;

      EpisodeResult& r = result.episodes[i];
      r.outcome = step.outcome;
      r.episode_return = env.episode_return();
      r.length = env.episode_steps();
      if (const RocketEnv* re = rocket_of(env); re && re->physics().touchdown()) {
        const RocketState& td = *re->physics().touchdown();
        r.touched_down = true;
        r.touchdown_speed = std::sqrt(td.vx * td.vx + td.vy * td.vy);
        r.touchdown_tilt_deg = std::abs(td.theta) * kRadToDeg;
      }
      if (i < static_cast<int>(result.traces.size())) result.traces[i].result = r;
      episode_of[slot] = -1;
      --running;
      if (next < config.episodes) start(slot);
    }
  }
  return result;
}

int EvalSummary::count(Outcome outcome) const {
  return outcome == Outcome::kNone ? 0 : counts[OutcomeIndex(outcome)];
}

double EvalSummary::rate(Outcome outcome) const {
  return episodes > 0 ? static_cast<double>(count(outcome)) / episodes : 0.0;
}

EvalSummary Summarize(const std::vector<EpisodeResult>& episodes) {
  EvalSummary s;
  s.episodes = static_cast<int>(episodes.size());
  double returns = 0, squares = 0, lengths = 0, speeds = 0, tilts = 0;
  for (const EpisodeResult& e : episodes) {
    if (e.outcome != Outcome::kNone) ++s.counts[OutcomeIndex(e.outcome)];
    returns += e.episode_return;
    squares += double(e.episode_return) * e.episode_return;
    lengths += e.length;
    if (e.touched_down) {
      ++s.touchdowns;
      speeds += e.touchdown_speed;
      tilts += e.touchdown_tilt_deg;
    }
  }
  if (s.episodes > 0) {
    s.mean_return = returns / s.episodes;
    s.std_return = std::sqrt(std::max(0.0, squares / s.episodes - s.mean_return * s.mean_return));
    s.mean_length = lengths / s.episodes;
  }
  if (s.touchdowns > 0) {
    s.mean_touchdown_speed = speeds / s.touchdowns;
    s.mean_touchdown_tilt_deg = tilts / s.touchdowns;
  }
  return s;
}

std::string SummaryJson(const EvalSummary& s, const std::string& env, ControllerKind kind,
                        std::optional<uint64_t> policy_version, uint64_t seed) {
  std::string j = "{\"eval\":\"" + env + "\",\"episodes\":" + std::to_string(s.episodes);
  j += ",\"success_rate\":" + JsonNumber(s.rate(Outcome::kLanded));
  j += ",\"crash_rate\":" + JsonNumber(s.rate(Outcome::kCrashed));
  j += ",\"out_of_bounds_rate\":" + JsonNumber(s.rate(Outcome::kOutOfBounds));
  j += ",\"timeout_rate\":" + JsonNumber(s.rate(Outcome::kTimeout));
  j += ",\"mean_return\":" + JsonNumber(s.mean_return);
  j += ",\"mean_touchdown_speed\":" + JsonNumber(s.mean_touchdown_speed);
  j += ",\"mean_touchdown_tilt_deg\":" + JsonNumber(s.mean_touchdown_tilt_deg);
  j += ",\"mean_length\":" + JsonNumber(s.mean_length);
  j += ",\"policy_version\":" + (policy_version ? std::to_string(*policy_version) : "null");
  j += ",\"controller\":\"" + std::string(ControllerName(kind)) + "\"";
  j += ",\"seed\":" + std::to_string(seed);
  j += ",\"std_return\":" + JsonNumber(s.std_return) + "}";
  return j;
}

Policy DecodePolicy(const std::vector<char>& bytes, const EnvSpec& env, std::string* run) {
  if (bytes.empty()) throw std::runtime_error("the message is empty");
  wire::Weights weights;
  wire::Expect expect;
  expect.run = "";  // any training run
  expect.env = env.name;
  const wire::DecodeResult decoded =
      wire::Decode(bytes.data(), bytes.size(), wire::Limits{}, expect, &weights);
  if (!decoded) {
    throw std::runtime_error("not a wire v1 weights message (" +
                             std::string(wire::RejectName(decoded.reason)) + ": " +
                             decoded.message + ")");
  }
  std::string why;
  std::optional<Policy> policy = Policy::FromWeights(weights, env.obs_dim, env.act_dim, &why);
  if (!policy) throw std::runtime_error("does not fit the " + env.name + " env: " + why);
  if (run) *run = weights.run;
  return std::move(*policy);
}

Policy LoadPolicyFile(const std::string& path, const EnvSpec& env) {
  const auto fail = [&](const std::string& why) {
    return std::runtime_error("cannot load policy " + path + ": " + why);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(std::strerror(errno));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (in.bad()) throw fail("read error");
  if (bytes.empty()) throw fail("the file is empty");
  try {
    return DecodePolicy(bytes, env, nullptr);
  } catch (const std::runtime_error& e) {
    throw fail(e.what());
  }
}

}  // namespace hoverslam::eval
