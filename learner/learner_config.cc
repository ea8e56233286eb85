#include "learner/learner_config.h"

#include <stdexcept>
#include <string>

#include "common/env_registry.h"

namespace hoverslam::learner {
namespace {

void Require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void LearnerConfig::Validate() const {
  Require(!bind.empty(), "--bind must name an interface or *");
  Require(trajectory_port > 0 && trajectory_port < 65536, "--trajectory-port must be in 1..65535");
  Require(weights_port > 0 && weights_port < 65536, "--weights-port must be in 1..65535");
  Require(trajectory_port != weights_port || !trajectory_endpoint.empty(),
          "--trajectory-port and --weights-port must differ");
  Require(metrics_port >= 0 && metrics_port < 65536, "--metrics-port must be in 0..65535");
  Require(health_timeout_s > 0, "--health-timeout must be > 0");
  Require(device == "auto" || device == "cpu" || device == "cuda",
          "--device must be auto, cpu or cuda");
  Require(threads >= 0, "--threads must be >= 0");
  Require(batch_transitions > 0, "--batch-transitions must be > 0");
  Require(max_policy_lag <= kMaxPolicyLagLimit, "--max-policy-lag must be <= 1000000");
  Require(queue_capacity > 0, "--queue-capacity must be > 0");
  Require(grant_timeout_s > 0, "--grant-timeout must be > 0");
  Require(checkpoint_every > 0, "--checkpoint-every must be > 0");
  Require(keep_checkpoints > 0, "--keep-checkpoints must be > 0");
  Require(run_id.size() <= limits.max_string, "--run-id is too long");
  Require(republish_s > 0, "--republish-interval must be > 0");
  RequireKnownEnv(env);
  zmq.Validate();
  curve.Validate();
  ppo.Validate();
}

}  // namespace hoverslam::learner
