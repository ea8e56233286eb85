// The learner's side of the trajectory channel (a ROUTER): a thread that hands out
// credits (grants) to idle actors, decodes and validates every trajectory into a
// bounded queue, and counts what it rejects. Only data that was asked for and fits the
// learner's model and bounds reaches the queue.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "common/env.h"
#include "common/protocol.h"
#include "common/zmq_sockets.h"
#include "learner/bounded_queue.h"
#include "learner/credits.h"
#include "learner/learner_metrics.h"

namespace hoverslam::learner {

using TrajectoryQueue = BoundedQueue<wire::Trajectory>;

struct ReceiverOptions {
  std::string endpoint;         // ROUTER bind endpoint
  ZmqConfig zmq;                // socket options (max_message_bytes bounds what ZeroMQ accepts)
  wire::Limits limits;          // bounds the decoder enforces
  std::string run;              // training run; other runs are rejected as wrong_run
  uint64_t max_policy_lag = 4;  // older data is rejected as stale
  double log_every_s = 10;      // at most one log line per rejection reason per period
  uint32_t obs_dim = 0;         // the model's D: other D is rejected as wrong_dims (0: any)
  uint32_t act_dim = 0;         // the model's A: other A is rejected as wrong_dims (0: any)
  wire::ValueBounds bounds{};   // finite values beyond these are rejected as out_of_range
  CurveServer curve;            // CURVE settings of the ROUTER socket; default: plaintext
  std::string env = kDefaultEnvName;  // env of grants; other envs are rejected as wrong_env
  Credits::Options credits;           // how much to ask for ahead of training
};

// Thread-safe: the constructor binds and starts the thread; the destructor stops it.
// Credits bound what arrives to about one batch, so the queue never fills in normal
// operation; if it does, the thread blocks and with it the socket (back-pressure).
class Receiver {
 public:
  Receiver(zmq::context_t& ctx, const ReceiverOptions& options, TrajectoryQueue* queue,
           LearnerMetrics* metrics);
  ~Receiver();

  // The learner's current version, for the stale/future check and the grants.
  void SetVersion(uint64_t version) { version_.store(version); }
  // Training took (or dropped) this many queued transitions: room for more grants. Call
  // from one thread only (it owns the wake-up socket).
  void Consumed(uint64_t transitions);
  // The receiving thread gave up (its socket failed): no data will ever arrive again.
  bool failed() const { return failed_.load(); }

  // Distinct actors with accepted data in the last `window_s` seconds.
  int ActorsSeen(double window_s) const;

 private:
  void Loop();
  void Receive();
  void Handle(const std::string& peer, const zmq::message_t& message);
  void Accept(wire::Trajectory& t);
  void GrantCredits();
  void Reject(wire::Reject reason, const std::string& why);

  ReceiverOptions options_;
  TrajectoryQueue* queue_;
  LearnerMetrics* metrics_;
  zmq::socket_t router_;
  // Consumed() -> receiver thread: the count, and a byte that wakes its poll at once.
  zmq::socket_t wake_rx_, wake_tx_;
  std::atomic<uint64_t> consumed_{0};
  Credits credits_;  // receiver thread only
  uint64_t expired_reported_ = 0;
  wire::ActorMessage decoded_;  // decode scratch
  std::vector<char> grant_bytes_;
  std::atomic<uint64_t> version_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex actors_mutex_;
  std::map<std::string, double> last_seen_;  // actor id -> time of last accepted message
  std::map<wire::Reject, std::pair<double, uint64_t>> last_log_;  // reason -> (time, silenced)
  std::thread thread_;
};

}  // namespace hoverslam::learner
