// hoverslam-learner's flags, apart from main() so that tests parse the real flags and check
// every env's learner_defaults against them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "learner/learner_config.h"

namespace hoverslam::learner {

struct LearnerFlags {
  LearnerConfig config;
  std::string activation = "tanh";  // --activation, turned into config.ppo.activation
};

// Adds every flag of hoverslam-learner to `app`, bound to `flags`.
void AddLearnerFlags(CLI::App& app, LearnerFlags* flags);

// After parsing: applies the --env's learner_defaults where neither the command line nor
// HOVERSLAM_<FLAG> set the flag (an unknown env gets none; LearnerConfig::Validate names it),
// then the activation. Returns the defaults applied, "--flag value" each. Throws
// std::invalid_argument for a default the flags refuse.
std::vector<std::string> FinishLearnerFlags(CLI::App& app, LearnerFlags* flags);

}  // namespace hoverslam::learner
