#include "learner/credits.h"

#include <algorithm>

namespace hoverslam::learner {

void Credits::Ready(const std::string& peer, uint64_t transitions, double now) {
  Peer& p = peers_[peer];
  p.transitions = transitions;
  p.last_seen = now;
  if (p.waiting) return;
  if (p.owed > 0) {
    p.deferred = true;
    return;
  }
  p.waiting = true;
  ready_.push_back(peer);
}

bool Credits::Answer(const std::string& peer, double now) {
  const auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.owed == 0) return false;
  Peer& p = it->second;
  p.last_seen = now;
  p.deferred = false;
  --p.owed;
  // Answers come in grant order; once the oldest grant expired it no longer counts as coming.
  if (p.live.size() > p.owed) {
    coming_ -= p.live.front().transitions;
    --in_flight_;
    p.live.pop_front();
  }
  return true;
}

void Credits::Consumed(uint64_t transitions) { buffered_ -= std::min(transitions, buffered_); }

std::vector<std::string> Credits::Grants(double now) {
  Expire(now);
  Forget(now);
  std::vector<std::string> granted;
  while (!ready_.empty() && coming_ + buffered_ < options_.target_transitions) {
    const std::string peer = std::move(ready_.front());
    ready_.pop_front();
    Peer& p = peers_[peer];
    p.waiting = false;
    ++p.owed;
    p.live.push_back({now, p.transitions});
    coming_ += p.transitions;
    ++in_flight_;
    granted.push_back(peer);
  }
  return granted;
}

void Credits::Undeliverable(const std::string& peer) {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  for (const Grant& g : it->second.live) coming_ -= g.transitions;
  in_flight_ -= it->second.live.size();
  if (it->second.waiting) ready_.erase(std::find(ready_.begin(), ready_.end(), peer));
  peers_.erase(it);
}

void Credits::Expire(double now) {
  for (auto& [id, p] : peers_) {
    while (!p.live.empty() && now - p.live.front().at > options_.grant_timeout_s) {
      coming_ -= p.live.front().transitions;
      --in_flight_;
      ++expired_total_;
      p.live.pop_front();
    }
    // It asked again and never answered: its answer was lost or refused. Ask it afresh.
    if (p.deferred && p.live.empty()) {
      p.deferred = false;
      p.owed = 0;
      p.waiting = true;
      ready_.push_back(id);
    }
  }
}

void Credits::Forget(double now) {
  if (now - last_forget_ < 1.0) return;  // a sweep per second is plenty
  last_forget_ = now;
  for (auto it = peers_.begin(); it != peers_.end();) {
    const Peer& p = it->second;
    if (!p.waiting && p.live.empty() && now - p.last_seen > options_.forget_s) {
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace hoverslam::learner
