#include "actor/actor_config.h"

#include <stdexcept>
#include <string>

#include "common/env_registry.h"

namespace hoverslam {
namespace {

void Require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void ActorConfig::Validate() const {
  RequireKnownEnv(env_name);
  Require(!learner.empty(), "--learner must name the learner host");
  Require(trajectory_port > 0 && trajectory_port < 65536, "--trajectory-port must be in 1..65535");
  Require(weights_port > 0 && weights_port < 65536, "--weights-port must be in 1..65535");
  Require(num_envs > 0 && num_envs <= 4096, "--num-envs must be in 1..4096");
  Require(steps_per_message > 0 && steps_per_message <= 4096,
          "--steps-per-message must be in 1..4096");
  Require(!actor_id.empty() && actor_id.size() <= 256, "--actor-id must be 1..256 characters");
  Require(metrics_port >= 0 && metrics_port < 65536, "--metrics-port must be in 0..65535");
  Require(log_interval_s > 0, "--log-interval must be > 0");
  Require(health_timeout_s > 0, "--health-timeout must be > 0");
  Require(zmq.send_hwm > 0, "--zmq-send-hwm must be > 0");
  const RocketSpawnConfig& spawn = env.spawn;
  Require(spawn.low_fraction >= 0 && spawn.low_fraction <= 1,
          "--curriculum-low-fraction must be in [0, 1]");
  Require(spawn.LowStartsFit(env.physics.rocket_height),
          "--curriculum-low-y-min must be above the resting height (" +
              std::to_string(0.5f * env.physics.rocket_height) + " m) and <= --env-spawn-y-min");
  zmq.Validate();
  curve.Validate();
  env.Validate();
}

}  // namespace hoverslam
