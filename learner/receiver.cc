#include "learner/receiver.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace hoverslam::learner {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr std::chrono::milliseconds kPoll(100);  // how long shutdown can go unnoticed

std::string WakeEndpoint(const void* receiver) {
  char name[64];
  std::snprintf(name, sizeof(name), "inproc://hoverslam-receiver-wake-%p", receiver);
  return name;
}

}  // namespace

Receiver::Receiver(zmq::context_t& ctx, const ReceiverOptions& options, TrajectoryQueue* queue,
                   LearnerMetrics* metrics)
    : options_(options),
      queue_(queue),
      metrics_(metrics),
      router_(MakeTrajectoryRouter(ctx, options.endpoint, options.zmq, options.curve)),
      wake_rx_(ctx, zmq::socket_type::pair),
      wake_tx_(ctx, zmq::socket_type::pair),
      credits_(options.credits) {
  wake_rx_.bind(WakeEndpoint(this));
  wake_tx_.connect(WakeEndpoint(this));
  metrics_->batch_transitions.Set(static_cast<double>(options.credits.target_transitions));
  thread_ = std::thread([this] { Loop(); });
}

Receiver::~Receiver() {
  stop_.store(true);
  thread_.join();
  router_.set(zmq::sockopt::linger, 0);
  wake_tx_.set(zmq::sockopt::linger, 0);
}

void Receiver::Consumed(uint64_t transitions) {
  consumed_.fetch_add(transitions);
  wake_tx_.send(zmq::str_buffer("c"), zmq::send_flags::dontwait);  // full: a wake is pending
}

int Receiver::ActorsSeen(double window_s) const {
  std::lock_guard<std::mutex> lock(actors_mutex_);
  const double since = Now() - window_s;
  int count = 0;
  for (const auto& [actor, when] : last_seen_) count += when >= since;
  return count;
}

void Receiver::Loop() {
  zmq::message_t drained;
  while (!stop_.load()) {
    zmq::pollitem_t items[] = {{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0},
                               {static_cast<void*>(wake_rx_), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, kPoll);
      while (wake_rx_.recv(drained, zmq::recv_flags::dontwait)) {
      }
      credits_.Consumed(consumed_.exchange(0));
      if (items[0].revents & ZMQ_POLLIN) Receive();
      GrantCredits();
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::error("trajectory socket failed: {}; /healthz now fails", e.what());
      failed_.store(true);
      return;
    }
  }
}

// Takes what is waiting on the socket now: [routing id, payload] per message.
void Receiver::Receive() {
  zmq::message_t id, payload, extra;
  while (!stop_.load() && router_.recv(id, zmq::recv_flags::dontwait)) {
    if (!id.more()) continue;  // ROUTER always prefixes the id; nothing follows: ignore
    (void)router_.recv(payload, zmq::recv_flags::none);  // frames of a message arrive together
    if (payload.more()) {
      do {
        (void)router_.recv(extra, zmq::recv_flags::none);
      } while (extra.more());
      Reject(wire::Reject::kMalformed, "a message of more than one frame");
      continue;
    }
    Handle(id.to_string(), payload);
  }
}

void Receiver::Handle(const std::string& peer, const zmq::message_t& message) {
  const wire::Expect expect{options_.run, options_.env, options_.obs_dim, options_.act_dim};
  const wire::DecodeResult r =
      wire::Decode(message.data(), message.size(), options_.limits, expect, &decoded_);
  if (!r) return Reject(r.reason, r.message);
  if (decoded_.type == wire::ActorMessage::Type::kReady) {
    return credits_.Ready(peer, decoded_.ready.transitions, Now());
  }
  wire::Trajectory& t = decoded_.trajectory;
  if (!credits_.Answer(peer, Now())) {
    return Reject(wire::Reject::kNoCredit,
                  "actor " + t.actor + " sent a trajectory it was not asked for (ready first)");
  }
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
  Accept(t);
}

void Receiver::Accept(wire::Trajectory& t) {
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
  credits_.Buffered(t.transitions());
  wire::Trajectory moved = std::move(t);
  while (!stop_.load() && !queue_->Push(moved, kPoll)) {
  }
}

void Receiver::GrantCredits() {
  const wire::Grant grant{options_.run, options_.env, version_.load()};
  const std::vector<std::string> peers = credits_.Grants(Now());
  if (!peers.empty()) wire::Encode(grant, &grant_bytes_);
  for (const std::string& peer : peers) {
    bool sent = false;
    try {
      sent = router_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                 .has_value();
      if (sent) router_.send(zmq::buffer(grant_bytes_), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;  // the actor is gone: someone else gets the credit
    }
    if (sent) {
      metrics_->credits_granted.Increment();
    } else {
      credits_.Undeliverable(peer);
    }
  }
  metrics_->credits_expired.Increment(
      static_cast<double>(credits_.expired_total() - expired_reported_));
  expired_reported_ = credits_.expired_total();
  metrics_->credits_in_flight.Set(static_cast<double>(credits_.in_flight()));
  metrics_->ready_actors.Set(static_cast<double>(credits_.ready()));
}

void Receiver::Reject(wire::Reject reason, const std::string& why) {
  metrics_->rejected[static_cast<int>(reason)]->Increment();
  auto& [last, silenced] = last_log_[reason];
  if (Now() - last < options_.log_every_s) {
    ++silenced;
    return;
  }
  spdlog::warn("rejected message ({}): {}{}", wire::RejectName(reason), why,
               silenced ? " (+" + std::to_string(silenced) + " more since the last report)" : "");
  last = Now();
  silenced = 0;
}

}  // namespace hoverslam::learner
