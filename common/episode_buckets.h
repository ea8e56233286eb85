// Histogram buckets for episodes, shared by the actor's and the learner's metrics so their
// quantiles agree. Returns follow the env's scale (EnvSpec::return_buckets); lengths end at
// the time limit, one bucket just below it, so timeouts stand apart.
#pragma once

#include <prometheus/histogram.h>

#include "common/env.h"

namespace hoverslam {

// The env's own return scale (EnvSpec::return_buckets).
inline prometheus::Histogram::BucketBoundaries EpisodeReturnBuckets(const EnvSpec& spec) {
  return {spec.return_buckets.begin(), spec.return_buckets.end()};
}

inline prometheus::Histogram::BucketBoundaries EpisodeLengthBuckets(int max_episode_steps) {
  prometheus::Histogram::BucketBoundaries buckets;
  for (double b : {60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 720, 900, 1200, 1800, 2400}) {
    if (b < max_episode_steps - 1) buckets.push_back(b);
  }
  if (max_episode_steps > 1) buckets.push_back(max_episode_steps - 1);
  buckets.push_back(max_episode_steps);
  return buckets;
}

}  // namespace hoverslam
