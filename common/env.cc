#include "common/env.h"

#include <cmath>
#include <iterator>
#include <string>

namespace hoverslam {

std::string CheckSpec(const EnvSpec& s) {
  if (s.name.empty()) return "name is empty";
  if (s.obs_dim <= 0) return "obs_dim must be > 0";
  if (s.act_dim <= 0) return "act_dim must be > 0";
  if (static_cast<int>(s.action_low.size()) != s.act_dim ||
      static_cast<int>(s.action_high.size()) != s.act_dim) {
    return "action_low and action_high need act_dim values each";
  }
  for (int k = 0; k < s.act_dim; ++k) {
    const float lo = s.action_low[k], hi = s.action_high[k];
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
      return "action dim " + std::to_string(k) + " needs finite bounds with low < high";
    }
  }
  if (s.max_episode_steps <= 0) return "max_episode_steps must be > 0";
  if (!(s.step_seconds > 0) || !std::isfinite(s.step_seconds)) {
    return "step_seconds must be positive and finite";
  }
  if (s.outcome_meanings.size() != std::size(kEndedOutcomes)) {
    return "outcome_meanings needs " + std::to_string(std::size(kEndedOutcomes)) +
           " lines (landed, crashed, out_of_bounds, timeout)";
  }
  if (s.return_buckets.empty()) return "return_buckets is empty";
  for (size_t i = 0; i < s.return_buckets.size(); ++i) {
    if (!std::isfinite(s.return_buckets[i]) ||
        (i > 0 && !(s.return_buckets[i - 1] < s.return_buckets[i]))) {
      return "return_buckets must be finite and strictly ascending";
    }
  }
  return "";
}

}  // namespace hoverslam
