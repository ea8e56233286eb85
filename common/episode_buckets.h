// Histogram buckets for the rocket's episodes, shared by the actor's and the learner's
// metrics so their quantiles agree. They follow the task's scale (common/rocket_config.h):
// a soft landing ends near +100 (landed) + up to +50 (on the pad) with shaping that sums
// to about the start's -Phi, so trained policies score 110-150 and need fine buckets
// there; failures fall to the -100 floors; an episode lasts at most 1,200 steps (20 s).
#pragma once

#include <prometheus/histogram.h>

namespace hoverslam {

inline prometheus::Histogram::BucketBoundaries EpisodeReturnBuckets() {
  return {-150, -100, -75, -50, -25, 0, 25, 50, 75, 100, 110, 120, 130, 140, 150, 175};
}

inline prometheus::Histogram::BucketBoundaries EpisodeLengthBuckets() {
  return {60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 720, 900, 1199, 1200};
}

}  // namespace hoverslam
