// A scripted lander: attitude PD on the gimbal plus a vertical-speed schedule on
// the thrust. The baseline a learned policy must beat, and a test of the task.
#pragma once

#include "common/rocket_config.h"

namespace hoverslam {

// Gains of the scripted controller; defaults land from the default spawn range.
struct HeuristicConfig {
  float kp_theta = 6.0f;        // gimbal per rad of attitude error
  float kd_theta = 3.0f;        // gimbal per rad/s of angular velocity
  float k_vx = 0.08f;           // tilt (rad) per m/s of horizontal-speed error
  float k_x = 0.15f;            // target vx (m/s) per m from the pad
  float max_vx = 2.0f;          // cap on the target horizontal speed
  float max_tilt_deg = 12.0f;   // cap on the commanded tilt
  float upright_height = 4.0f;  // below this height (m) the tilt cap shrinks to 0
  float k_vy = 3.0f;            // vertical acceleration per m/s of speed error
  float descent_rate = 0.5f;    // target sink speed per m of height, 1/s
  float min_sink = 0.3f;        // target sink speed at touchdown, m/s
  float max_sink = 5.0f;        // target sink speed cap, m/s
};

// Thread-safe (stateless after construction).
class HeuristicController {
 public:
  explicit HeuristicController(const RocketPhysicsConfig& physics, HeuristicConfig gains = {});

  // obs: [x, y, theta, vx, vy, omega]; writes action [thrust, gimbal] in [-1, 1].
  void Act(const float* obs, float* action) const;

 private:
  RocketPhysicsConfig physics_;
  HeuristicConfig gains_;
};

}  // namespace hoverslam
