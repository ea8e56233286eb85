// The learner process: receiver thread -> bounded queue -> PPO updates ->
// weights publisher, with checkpoints and metrics. Keeps LibTorch out of its
// header so main.cc compiles without it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "learner/learner_config.h"

namespace hoverslam::learner {

// Not thread-safe: one thread calls Run; `stop` may be set from a signal handler.
class Learner {
 public:
  // Throws (with a message a user can act on) when the config, device, ports or
  // checkpoint directory are unusable.
  explicit Learner(const LearnerConfig& config);
  ~Learner();

  // Trains until `stop`, max_versions or max_env_steps; writes a final checkpoint.
  // Returns the reason it stopped. If training throws, writes a final checkpoint of the
  // last good state and rethrows.
  std::string Run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoverslam::learner
