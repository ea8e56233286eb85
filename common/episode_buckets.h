// Histogram buckets for the rocket's episodes, shared by the actor's and the learner's
// metrics so their quantiles agree. They follow the task's scale (common/rocket_config.h):
// a soft landing ends near +100 (landed) + up to +50 (on the pad) with shaping that sums
// to about the start's -Phi, so trained policies score 110-150 and need fine buckets
// there; failures fall to the -100 floors. Lengths end at the time limit, one bucket just
// below it, so timeouts stand apart.
#pragma once

#include <prometheus/histogram.h>

namespace hoverslam {

inline prometheus::Histogram::BucketBoundaries EpisodeReturnBuckets() {
  return {-150, -100, -75, -50, -25, 0, 25, 50, 75, 100, 110, 120, 130, 140, 150, 175};
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
