#include "common/rocket_mirror.h"

namespace hoverslam {

MirrorSpec RocketMirror(const RocketPhysicsConfig& physics) {
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
