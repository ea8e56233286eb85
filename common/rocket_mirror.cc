#include "common/rocket_mirror.h"

#include <stdexcept>

namespace hoverslam {

MirrorSpec RocketMirror(const RocketPhysicsConfig& physics) {
  // The world's walls must mirror onto each other too.
  if (2 * physics.pad_x != physics.world_width) {
    throw std::invalid_argument("RocketMirror: the pad is not at the world's centre");
  }
  MirrorSpec m;
  // [x, y, theta, vx, vy, omega]
  m.obs.perm = {0, 1, 2, 3, 4, 5};
  m.obs.sign = {-1, 1, -1, -1, 1, -1};
  m.obs.offset = {2 * physics.pad_x, 0, 0, 0, 0, 0};
  // [thrust, gimbal]
  m.act.perm = {0, 1};
  m.act.sign = {1, -1};
  m.act.offset = {0, 0};
  return m;
}

}  // namespace hoverslam
