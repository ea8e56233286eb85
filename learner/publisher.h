// The sending side of the weights channel: a thread that publishes each new
// version at once and re-publishes the latest every interval, so an actor that
// joins late is served within that interval.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/zmq_sockets.h"
#include "learner/learner_metrics.h"

namespace hoverslam::learner {

// Thread-safe: Publish may be called from any thread; the socket lives on the
// publisher's own thread.
class Publisher {
 public:
  static constexpr int kFinalFlushMs = 500;  // linger at close: the last version's send

  Publisher(zmq::context_t& ctx, const std::string& endpoint, const ZmqConfig& zmq,
            double republish_s, LearnerMetrics* metrics, const CurveServer& curve = {});
  ~Publisher();

  // Publishes an encoded Weights message now and keeps it as the one to repeat.
  void Publish(std::vector<char> message);

 private:
  void Loop();

  zmq::socket_t pub_;
  double republish_s_;
  LearnerMetrics* metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<char> latest_;
  bool fresh_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace hoverslam::learner
