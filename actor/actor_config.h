// Everything an actor process needs; filled from flags by actor/main.cc.
#pragma once

#include <cstdint>
#include <string>

#include "common/curve.h"
#include "common/env.h"
#include "common/health.h"
#include "common/rocket_config.h"
#include "common/zmq_sockets.h"

namespace hoverslam {

struct ActorConfig {
  std::string learner = "127.0.0.1";          // learner host (or a full tcp:// / ipc:// endpoint)
  int trajectory_port = kTrajectoryPort;      // learner's PULL port
  int weights_port = kWeightsPort;            // learner's PUB port
  std::string weights_endpoint;               // overrides learner + weights_port when set
  int num_envs = 16;                          // N envs stepped together
  int steps_per_message = 128;                // T steps per Trajectory
  uint64_t seed = 0;                          // env i uses EnvSeed(seed, i)
  std::string actor_id;                       // stable id (pod name); default: host name
  int metrics_port = 9101;                    // Prometheus /metrics and /healthz; 0 disables
  std::string metrics_bind = kAllInterfaces;  // address the metrics port listens on
  double health_timeout_s = kDefaultHealthTimeoutS;  // /healthz fails after this long stalled
  double log_interval_s = 10.0;                      // period of progress and "learner away" logs
  bool decorrelate = true;    // start each env's first episode cut short by a random amount
  uint64_t max_messages = 0;  // stop after this many sends; 0 = run until SIGTERM
  std::string env_name = kDefaultEnvName;     // the task, by registry name (--env)
  RocketConfig env = TrainingRocketConfig();  // the rocket's settings, with the curriculum
  ZmqConfig zmq;                              // socket tuning
  CurveClientFiles curve;                     // CURVE keys; none: plaintext

  // Throws std::invalid_argument naming the flag of the first bad field.
  void Validate() const;
};

}  // namespace hoverslam
