// Every env the system can train, by name: the actor's, learner's and hoverslam-eval's
// `--env`, and the wire's `env` key. Adding an env is one folder under common/envs/ that
// implements Env, and one entry in env_registry.cc.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/env.h"
#include "common/mirror.h"
#include "common/rocket_config.h"

namespace hoverslam {

// Settings that come from the --env-* flags. An env without settings ignores them; one
// with settings adds its config here.
struct EnvOptions {
  RocketConfig rocket;
};

// A scripted controller: obs[obs_dim] in, action[act_dim] within the spec's bounds out.
using Controller = std::function<void(const float* obs, float* action)>;

struct EnvEntry {
  std::string name;
  EnvSpec (*spec)(const EnvOptions&);
  std::unique_ptr<Env> (*make)(const EnvOptions&, uint64_t seed);
  Controller (*heuristic)(const EnvOptions&);  // the task's scripted baseline
  // The task's mirror symmetry for the learner's augmentation, or nullopt.
  std::optional<MirrorSpec> (*mirror)(const EnvOptions&);
  // Learner flags this task trains best with, as {flag, value}: hoverslam-learner applies each
  // one that neither its command line nor its HOVERSLAM_<FLAG> variable sets. Empty: the
  // learner's own defaults, which are tuned for the rocket.
  std::vector<std::pair<std::string, std::string>> learner_defaults;
};

const std::vector<EnvEntry>& EnvRegistry();
// The entry's spec for `options`; throws std::invalid_argument saying what is wrong with a spec
// that fails CheckSpec, so a user's env is refused at start, not midway.
EnvSpec CheckedSpec(const EnvEntry& entry, const EnvOptions& options);
// The entry named `name`; throws std::invalid_argument listing the known names.
const EnvEntry& FindEnv(const std::string& name);
// Throws std::invalid_argument "--env: unknown env ..." unless `name` is registered: the
// config validation of every binary with --env.
void RequireKnownEnv(const std::string& name);
// "rocket|lunar_lander_continuous": for flag help and errors.
std::string EnvNames();

}  // namespace hoverslam
