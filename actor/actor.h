// The actor loop: ask the learner for work (ready), and for each grant step N envs for T
// steps with weights of at least the granted version and ship one Trajectory. New weights
// are picked up only between messages; an actor the learner does not need stays idle.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "actor/actor_config.h"
#include "actor/actor_metrics.h"
#include "common/connection_monitor.h"
#include "common/policy.h"
#include "common/protocol.h"
#include "common/vec_env.h"

namespace hoverslam {

// Not thread-safe: one thread calls Run; `stop` may be set from anywhere (a signal).
class Actor {
 public:
  Actor(const ActorConfig& config, MetricsServer& metrics);
  ~Actor();

  // Runs until `stop` is set or max_messages are sent; returns messages sent.
  uint64_t Run(const std::atomic<bool>& stop);

 private:
  // Everything a loop iteration owes besides its work, also while blocked on the
  // learner: beat /healthz, follow the connections, publish the weights' age.
  void Tend();
  ClientConnection::Hooks HooksFor(Channel channel);
  bool WaitForFirstWeights(const std::atomic<bool>& stop);
  void PollWeights();  // non-blocking: adopts the newest valid weights, if any
  void Adopt(const zmq::message_t& message);
  // Idle until the learner grants a rollout, then waits for the granted weights. False
  // when `stop` is set first.
  bool AwaitGrant(const std::atomic<bool>& stop);
  bool HoldsGrantedWeights() const;
  void SendReady();
  void ReceiveGrants();   // non-blocking
  void DropVoidGrants();  // grants from a connection that has since been replaced
  void Collect();         // fills traj_ with T steps of all N envs
  bool Send(const std::atomic<bool>& stop);

  ActorConfig config_;
  ActorMetrics metrics_;
  Heartbeat& heartbeat_;  // beaten by Tend in every loop: waiting on the learner is progress
  VecEnv env_;
  std::vector<Rng> rngs_;  // action noise, one stream per env
  std::optional<Policy> policy_;
  std::string run_;  // training run of the weights in use
  zmq::context_t ctx_;
  std::string trajectory_endpoint_, weights_endpoint_;
  std::unique_ptr<ClientConnection> dealer_, sub_;  // re-created after a refused handshake
  double version_changed_at_;                       // when the policy version last changed
  wire::Trajectory traj_;
  wire::Weights weights_;  // decode scratch
  wire::Grant grant_;      // decode scratch
  // Grants are only good on the connection they came on: a restarted learner knows
  // nothing of them. `connects_` counts the trajectory channel's handshakes.
  struct HeldGrant {
    std::string run;
    uint64_t policy_version;
    uint64_t connection;
  };
  std::deque<HeldGrant> grants_;
  uint64_t connects_ = 0;
  bool ready_pending_ = false;     // a ready is out and no grant has answered it
  uint64_t ready_connection_ = 0;  // connects_ when it was sent
  std::vector<char> bytes_;
  double last_blocked_log_ = 0;
  bool interrupted_ = false;  // Run ended by `stop`, not by max_messages
};

}  // namespace hoverslam
