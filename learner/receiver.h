// The receiving side of the trajectory channel: a thread that decodes and
// validates every message into a bounded queue, and counts what it rejects. Only data
// that fits the learner's model and bounds reaches the queue.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "common/protocol.h"
#include "common/zmq_sockets.h"
#include "learner/bounded_queue.h"
#include "learner/learner_metrics.h"

namespace hoverslam::learner {

using TrajectoryQueue = BoundedQueue<wire::Trajectory>;

struct ReceiverOptions {
  std::string endpoint;         // PULL bind endpoint
  ZmqConfig zmq;                // socket options (max_message_bytes bounds what ZeroMQ accepts)
  wire::Limits limits;          // bounds the decoder enforces
  std::string run;              // training run; other runs are rejected as wrong_run
  uint64_t max_policy_lag = 4;  // older data is rejected as stale
  double log_every_s = 10;      // at most one log line per rejection reason per period
  uint32_t obs_dim = 0;         // the model's D: other D is rejected as wrong_dims (0: any)
  uint32_t act_dim = 0;         // the model's A: other A is rejected as wrong_dims (0: any)
  wire::ValueBounds bounds{};   // finite values beyond these are rejected as out_of_range
  CurveServer curve;            // CURVE settings of the PULL socket; default: plaintext
};

// Thread-safe: the constructor binds and starts the thread; the destructor stops it.
// A full queue blocks the thread, and with it the socket: actors then block under
// their high-water mark (back-pressure), nothing is dropped.
class Receiver {
 public:
  Receiver(zmq::context_t& ctx, const ReceiverOptions& options, TrajectoryQueue* queue,
           LearnerMetrics* metrics);
  ~Receiver();

  // The learner's current version, for the stale/future check.
  void SetVersion(uint64_t version) { version_.store(version); }
  // The receiving thread gave up (its socket failed): no data will ever arrive again.
  bool failed() const { return failed_.load(); }

  // Distinct actors with accepted data in the last `window_s` seconds.
  int ActorsSeen(double window_s) const;

 private:
  void Loop();
  void Handle(const zmq::message_t& message);
  void Reject(wire::Reject reason, const std::string& why);

  ReceiverOptions options_;
  TrajectoryQueue* queue_;
  LearnerMetrics* metrics_;
  zmq::socket_t pull_;
  std::atomic<uint64_t> version_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex actors_mutex_;
  std::map<std::string, double> last_seen_;  // actor id -> time of last accepted message
  std::map<wire::Reject, std::pair<double, uint64_t>> last_log_;  // reason -> (time, silenced)
  std::thread thread_;
};

}  // namespace hoverslam::learner
