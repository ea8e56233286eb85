// Checkpoints: model, optimiser, normaliser, learning rate, version, run id and
// counters in one file per version, written atomically (temp file + rename), plus
// the exported policy (policy.msgpack) beside them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "learner/trainer.h"

namespace hoverslam::learner {

// What a checkpoint restores besides the trainer's own state.
struct TrainingState {
  uint64_t version = 0;    // policy version the checkpoint holds
  uint64_t env_steps = 0;  // transitions trained on so far
  std::string run;         // training run id, kept across restarts
};

// Writes <dir>/ckpt-<version>.pt and <dir>/policy.msgpack (the `weights` map of the
// same version), then deletes all but the newest `keep` checkpoints. Returns the
// checkpoint's path. Throws (std::exception) if the directory cannot be written; the
// previous checkpoints are then untouched.
std::string SaveCheckpoint(const std::string& dir, Trainer& trainer, const TrainingState& state,
                           int keep);

// Checkpoint files in `dir`, newest version first.
std::vector<std::string> ListCheckpoints(const std::string& dir);

// Loads the newest checkpoint that reads back whole into `trainer`, reporting each
// unreadable one and falling back to the previous. nullopt when none loads (the
// trainer may then hold partial state: build a fresh one).
std::optional<TrainingState> LoadNewestCheckpoint(const std::string& dir, Trainer* trainer);

}  // namespace hoverslam::learner
