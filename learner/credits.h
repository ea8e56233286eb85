// Credit flow on the learner's side: which idle actors to ask for a rollout, so that what is
// granted, in flight or waiting to be trained is one batch ahead of training and no more.
// Data then never waits long enough to go stale, whatever the number of actors: extra
// actors stay idle instead of collecting rollouts that would be thrown away.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace hoverslam::learner {

// Not thread-safe: the receiver thread owns it. Peers are ZeroMQ routing ids (one per
// connection), so two actors that share an id cannot spend each other's credit.
class Credits {
 public:
  struct Options {
    uint64_t target_transitions = 16384;  // one batch: what training will take next
    double grant_timeout_s = 10;          // an unanswered grant stops counting as coming after this
    double forget_s = 600;  // a peer silent this long is dropped (its connection is gone)
  };

  explicit Credits(const Options& options) : options_(options) {}

  // `peer` is idle and collects `transitions` per rollout. Ignored while it already waits;
  // deferred while it owes a rollout (the ready crossed our grant, or its answer was
  // rejected before it could count): queued when those grants expire unanswered.
  void Ready(const std::string& peer, uint64_t transitions, double now);
  // `peer` sent a trajectory. False (no_credit) unless it held a grant, which this spends.
  bool Answer(const std::string& peer, double now);
  // Accepted transitions now wait for training; Consumed when training takes or drops them.
  void Buffered(uint64_t transitions) { buffered_ += transitions; }
  void Consumed(uint64_t transitions);
  // Peers to ask now, longest idle first, until granted + buffered reach the target. Each
  // counts as coming until its trajectory arrives or grant_timeout_s passes.
  std::vector<std::string> Grants(double now);
  // The grant could not be sent (the peer is gone): forget the peer.
  void Undeliverable(const std::string& peer);

  size_t ready() const { return ready_.size(); }   // idle actors waiting for a grant
  size_t in_flight() const { return in_flight_; }  // grants neither answered nor expired
  uint64_t coming() const { return coming_; }      // transitions those grants will bring
  uint64_t buffered() const { return buffered_; }
  uint64_t expired_total() const { return expired_total_; }

 private:
  struct Grant {
    double at;
    uint64_t transitions;
  };
  struct Peer {
    uint64_t transitions = 0;  // per rollout, as its last ready said
    uint64_t owed = 0;         // grants not yet answered, expired ones included
    std::deque<Grant> live;    // unanswered grants still counted as coming, oldest first
    bool waiting = false;      // in ready_
    bool deferred = false;     // said ready while owing: queued if its grants all expire
    double last_seen = 0;
  };

  void Expire(double now);
  void Forget(double now);

  Options options_;
  std::map<std::string, Peer> peers_;
  std::deque<std::string> ready_;  // idle peers, longest idle first
  uint64_t coming_ = 0, buffered_ = 0, expired_total_ = 0;
  size_t in_flight_ = 0;
  double last_forget_ = 0;
};

}  // namespace hoverslam::learner
