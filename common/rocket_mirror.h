// The rocket task's mirror image about the vertical line through the pad.
#pragma once

#include "common/mirror.h"
#include "common/rocket_config.h"

namespace hoverslam {

// x -> 2 pad_x - x; theta, vx and omega change sign; y and vy do not. The gimbal changes sign,
// the thrust does not. The world, the spawn ranges and the wind are symmetric about the pad,
// and so is the reward. std::invalid_argument unless the pad is at the world's centre.
MirrorSpec RocketMirror(const RocketPhysicsConfig& physics);

}  // namespace hoverslam
