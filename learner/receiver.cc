#include "learner/receiver.h"

#include <spdlog/spdlog.h>

namespace hoverslam::learner {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr std::chrono::milliseconds kPoll(100);  // how long shutdown can go unnoticed

}  // namespace

Receiver::Receiver(zmq::context_t& ctx, const ReceiverOptions& options, TrajectoryQueue* queue,
                   LearnerMetrics* metrics)
    : options_(options),
      queue_(queue),
      metrics_(metrics),
      pull_(MakeTrajectoryPull(ctx, options.endpoint, options.zmq, options.curve)),
      thread_([this] { Loop(); }) {}

Receiver::~Receiver() {
  stop_.store(true);
  thread_.join();
  pull_.set(zmq::sockopt::linger, 0);
}

int Receiver::ActorsSeen(double window_s) const {
  std::lock_guard<std::mutex> lock(actors_mutex_);
  const double since = Now() - window_s;
  int count = 0;
  for (const auto& [actor, when] : last_seen_) count += when >= since;
  return count;
}

void Receiver::Loop() {
  zmq::message_t message;
  while (!stop_.load()) {
    zmq::pollitem_t item{static_cast<void*>(pull_), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, kPoll) == 0) continue;
      if (!pull_.recv(message, zmq::recv_flags::dontwait)) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::error("trajectory socket failed: {}; /healthz now fails", e.what());
      failed_.store(true);
      return;
    }
    Handle(message);
  }
}

void Receiver::Handle(const zmq::message_t& message) {
  wire::Trajectory t;
  const wire::Expect expect{options_.run, "rocket", options_.obs_dim, options_.act_dim};
  const wire::DecodeResult r =
      wire::Decode(message.data(), message.size(), options_.limits, expect, &t);
  if (!r) return Reject(r.reason, r.message);
  if (const wire::DecodeResult v = wire::CheckValues(t, options_.bounds); !v) {
    return Reject(v.reason, v.message + " (actor " + t.actor + ")");
  }
  const uint64_t version = version_.load();
  if (const wire::Reject freshness =
          wire::CheckPolicyVersion(t.policy_version, version, options_.max_policy_lag);
      freshness != wire::Reject::kNone) {
    return Reject(freshness, "policy_version " + std::to_string(t.policy_version) + " from actor " +
                                 t.actor + ", learner at " + std::to_string(version));
  }
  metrics_->trajectories_received.Increment();
  metrics_->transitions_received.Increment(static_cast<double>(t.transitions()));
  for (const wire::EpisodeSummary& e : t.episodes) {
    metrics_->episodes[static_cast<int>(e.outcome)]->Increment();
    metrics_->episode_return.Observe(e.episode_return);
  }
  {
    std::lock_guard<std::mutex> lock(actors_mutex_);
    last_seen_[t.actor] = Now();
  }
  while (!stop_.load() && !queue_->Push(t, kPoll)) {
  }
}

void Receiver::Reject(wire::Reject reason, const std::string& why) {
  metrics_->rejected[static_cast<int>(reason)]->Increment();
  auto& [last, silenced] = last_log_[reason];
  if (Now() - last < options_.log_every_s) {
    ++silenced;
    return;
  }
  spdlog::warn("rejected trajectory ({}): {}{}", wire::RejectName(reason), why,
               silenced ? " (+" + std::to_string(silenced) + " more since the last report)" : "");
  last = Now();
  silenced = 0;
}

}  // namespace hoverslam::learner
