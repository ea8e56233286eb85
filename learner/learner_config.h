// Everything the learner process needs; filled from flags by learner/main.cc.
#pragma once

#include <cstdint>
#include <string>

#include "common/curve.h"
#include "common/env.h"
#include "common/health.h"
#include "common/protocol.h"
#include "common/zmq_sockets.h"
#include "learner/ppo_config.h"

namespace hoverslam::learner {

inline constexpr uint64_t kMaxPolicyLagLimit = 1000000;  // far beyond any useful lag

struct LearnerConfig {
  std::string bind = "*";                            // interface the sockets bind to (* = all)
  int trajectory_port = kTrajectoryPort;             // ROUTER, actors connect (DEALER)
  int weights_port = kWeightsPort;                   // PUB, actors subscribe
  std::string trajectory_endpoint;                   // overrides bind + trajectory_port when set
  std::string weights_endpoint;                      // overrides bind + weights_port when set
  int metrics_port = 9100;                           // Prometheus /metrics and /healthz; 0 disables
  std::string metrics_bind = kAllInterfaces;         // address the metrics port listens on
  double health_timeout_s = kDefaultHealthTimeoutS;  // /healthz fails after this long stalled
  std::string device = "auto";                       // auto (CUDA when LibTorch sees it), cpu, cuda
  int threads = 0;                // torch intra-op threads; 0 = LibTorch's default
  int batch_transitions = 16384;  // transitions per PPO update (at least)
  uint64_t max_policy_lag = 4;    // older trajectories are rejected as stale
  // Trajectories held between receiver and PPO. Credits keep what arrives to about one
  // batch (8 messages by default), so this is only a backstop.
  size_t queue_capacity = 64;
  double grant_timeout_s = 10;        // an unanswered grant is given to another actor after this
  std::string checkpoint_dir;         // empty: no checkpoints
  uint64_t checkpoint_every = 10;     // versions between checkpoints
  int keep_checkpoints = 3;           // newest K kept
  uint64_t max_versions = 0;          // stop after this version; 0 = never
  uint64_t max_env_steps = 0;         // stop after training on this many; 0 = never
  std::string run_id;                 // empty: the checkpoint's, else a new random id
  std::string env = kDefaultEnvName;  // env name carried in every message
  double republish_s = 1.0;           // re-publish the latest weights this often
  uint64_t seed = 1;                  // torch seed (init, minibatch order)
  PpoConfig ppo;                      // hyper-parameters
  ZmqConfig zmq;                      // socket tuning
  CurveServerFiles curve;             // CURVE keys and authorized clients; none: plaintext
  wire::Limits limits;                // what the decoder accepts

  // Throws std::invalid_argument naming the flag of the first bad field.
  void Validate() const;
};

}  // namespace hoverslam::learner
