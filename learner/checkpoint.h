// Checkpoints: model, optimiser, normaliser, learning rate, version, run id and
// counters in one file per version, written atomically and durably (temp file, fsync,
// rename, fsync of the directory), plus the exported policy (policy.msgpack) beside them.
//
// A checkpoint file is the torch archive followed by a 48-byte trailer: the magic
// "hsckpt\0\2", the archive's length (uint64, little-endian) and its BLAKE2b-256 digest.
// A file that was torn by a crash or corrupted since is told from a whole one by its
// digest, and the previous checkpoint is used instead.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/protocol.h"
#include "learner/trainer.h"

namespace hoverslam::learner {

// What a checkpoint restores besides the trainer's own state.
struct TrainingState {
  uint64_t version = 0;               // policy version the checkpoint holds
  uint64_t env_steps = 0;             // transitions trained on so far
  std::string run;                    // training run id, kept across restarts
  std::string env = kDefaultEnvName;  // the env trained (the learner's --env)
};

// A checkpoint directory that holds another env's run: resuming it would train the wrong task,
// and starting over would prune that run's checkpoints, so the learner stops instead.
class CheckpointEnvMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes <dir>/ckpt-<version>.pt and <dir>/policy.msgpack (the `weights` map of the
// same version), then deletes all but the newest `keep` checkpoints. Returns the
// checkpoint's path. Throws (std::exception) if the directory cannot be written (a full
// disk included); the previous checkpoints are then untouched and no temp file is left.
// It writes what the trainer holds: check Trainer::Problem() first.
std::string SaveCheckpoint(const std::string& dir, Trainer& trainer, const TrainingState& state,
                           int keep);

// Checkpoint files in `dir`, newest version first.
std::vector<std::string> ListCheckpoints(const std::string& dir);

// Deletes what interrupted writes of this file's functions left in `dir` (ckpt-*.pt.tmp,
// policy.msgpack.tmp, version-floor.tmp); other files are left alone.
void RemoveTempFiles(const std::string& dir);

// Removes temp files, then loads the newest checkpoint that is whole (its digest matches),
// fits `trainer` (every parameter's shape and dtype; Adam's moments those of their parameter,
// its step counts >= 0) and holds a state Trainer::Problem() accepts, reporting each refused
// one and falling back to the previous. nullopt when none loads; the trainer is then as it
// was.
// Throws CheckpointEnvMismatch when the newest readable checkpoint is of another env than
// `env` (a checkpoint from before envs were recorded is the rocket's).
std::optional<TrainingState> LoadNewestCheckpoint(const std::string& dir, Trainer* trainer,
                                                  const std::string& env = kDefaultEnvName);

// Versions never repeat, across crashes and restarts. The checkpoint directory holds
// `version-floor`, a number no published version has reached. Publishing a version at or
// above it first raises it kBlock versions further (atomically and durably: one fsync per
// kBlock versions, not per version). After a checkpoint of version V that is the newest
// published, it may be lowered to V + 1. A restart continues at max(checkpoint version,
// floor), or at the checkpoint's own version when that is floor - 1 (it then holds the
// newest published weights): a restart from an older checkpoint never re-uses a number that
// named other weights. Not thread-safe: the learner thread owns it.
class VersionFloor {
 public:
  static constexpr uint64_t kBlock = 64;  // versions reserved per write

  // Reads <dir>/version-floor; 0 when it does not exist. An empty `dir` keeps nothing:
  // the floor stays 0 and Reserve and Lower do nothing. Throws std::runtime_error naming
  // the file when it cannot be read or does not hold a number.
  explicit VersionFloor(std::string dir);

  uint64_t floor() const { return floor_; }

  // The version a learner starting with this floor continues at, given the version of the
  // checkpoint it restored (nullopt: none, its weights are new).
  uint64_t Resume(std::optional<uint64_t> checkpoint_version) const;

  // Call before publishing `version`: raises the floor to version + kBlock when version is
  // at or above it. Throws std::runtime_error when that write fails: do not publish then.
  void Reserve(uint64_t version);

  // Call once a checkpoint of `version` is durable and no newer version was published:
  // the floor becomes version + 1. Throws std::runtime_error when the write fails (the
  // higher floor then stays, which is safe).
  void Lower(uint64_t version);

 private:
  void Write(uint64_t floor);

  std::string dir_;
  uint64_t floor_ = 0;
};

}  // namespace hoverslam::learner
