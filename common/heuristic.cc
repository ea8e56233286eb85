#include "common/heuristic.h"

#include <algorithm>
#include <cmath>

namespace hoverslam {
namespace {
constexpr float kDegToRad = 3.14159265358979f / 180.0f;
}  // namespace

HeuristicController::HeuristicController(const RocketPhysicsConfig& physics, HeuristicConfig gains)
    : physics_(physics), gains_(gains) {}

void HeuristicController::Act(const float* obs, float* action) const {
  const HeuristicConfig& g = gains_;
  const float x = obs[0], y = obs[1], theta = obs[2], vx = obs[3], vy = obs[4], omega = obs[5];
  const float height = std::max(0.0f, y - 0.5f * physics_.rocket_height);

  // Horizontal: drift toward the pad, but come upright for the touchdown.
  const float upright = std::clamp(height / g.upright_height, 0.0f, 1.0f);
  const float vx_target = upright * std::clamp(g.k_x * (physics_.pad_x - x), -g.max_vx, g.max_vx);
  const float max_tilt = g.max_tilt_deg * kDegToRad * upright;
  // Tilting clockwise (theta < 0) points thrust toward +x.
  const float theta_target = std::clamp(g.k_vx * (vx - vx_target), -max_tilt, max_tilt);
  // gimbal > 0 turns counter-clockwise.
  const float gimbal = g.kp_theta * (theta_target - theta) - g.kd_theta * omega;

  // Vertical: sink speed proportional to height, then a gentle touchdown speed.
  const float vy_target = -std::clamp(g.descent_rate * height, g.min_sink, g.max_sink);
  // Thrust to cancel gravity and damping, plus a P term on the speed error.
  const float accel = g.k_vy * (vy_target - vy) + physics_.gravity + physics_.linear_damping * vy;
  const float thrust = physics_.rocket_mass * accel / std::max(0.5f, std::cos(theta));
  const float thrust_fraction = thrust / physics_.max_thrust;

  action[0] = std::clamp(2.0f * thrust_fraction - 1.0f, -1.0f, 1.0f);
  action[1] = std::clamp(gimbal, -1.0f, 1.0f);
}

}  // namespace hoverslam
