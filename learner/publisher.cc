#include "learner/publisher.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace hoverslam::learner {

Publisher::Publisher(zmq::context_t& ctx, const std::string& endpoint, const ZmqConfig& zmq,
                     double republish_s, LearnerMetrics* metrics, const CurveServer& curve)
    : pub_(MakeWeightsPub(ctx, endpoint, zmq, curve)),
      republish_s_(republish_s),
      metrics_(metrics),
      thread_([this] { Loop(); }) {}

Publisher::~Publisher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // Long enough to flush the last version to connected actors, short enough that a stuck
  // one cannot hold up shutdown.
  pub_.set(zmq::sockopt::linger, kFinalFlushMs);
}

void Publisher::Publish(std::vector<char> message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    latest_ = std::move(message);
    fresh_ = true;
  }
  wake_.notify_all();
}

void Publisher::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto period = std::chrono::duration<double>(republish_s_);
  while (!stop_) {
    wake_.wait_for(lock, period, [&] { return stop_ || fresh_; });
    // A version published just before stopping (the learner's last, at --max-versions) is
    // still sent once: otherwise nobody ever sees it.
    if (stop_ && !fresh_) break;
    const bool last = stop_;
    fresh_ = false;
    if (latest_.empty()) continue;
    // PUB never blocks: a slow subscriber just misses a copy, and CONFLATE on the
    // actor side keeps only the newest anyway.
    try {
      if (pub_.send(zmq::buffer(latest_), zmq::send_flags::dontwait)) {
        metrics_->weights_published.Increment();
      }
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::error("weights publish failed: {}", e.what());
    }
    if (last) break;
  }
}

}  // namespace hoverslam::learner
