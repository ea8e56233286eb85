#include "common/rocket_config.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace hoverslam {
namespace {

void Require(bool ok, const char* field, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("rocket config: ") + field + " " + what);
}

void Positive(float v, const char* field) {
  Require(std::isfinite(v) && v > 0, field, "must be > 0");
}
void NonNegative(float v, const char* field) {
  Require(std::isfinite(v) && v >= 0, field, "must be >= 0");
}
void Finite(float v, const char* field) { Require(std::isfinite(v), field, "must be finite"); }

}  // namespace

void RocketConfig::Validate() const {
  const RocketPhysicsConfig& p = physics;
  NonNegative(p.gravity, "physics.gravity");
  Positive(p.time_step, "physics.time_step");
  Require(p.velocity_iterations > 0, "physics.velocity_iterations", "must be > 0");
  Require(p.position_iterations > 0, "physics.position_iterations", "must be > 0");
  Positive(p.world_width, "physics.world_width");
  Positive(p.ceiling, "physics.ceiling");
  Require(p.pad_x >= 0 && p.pad_x <= p.world_width, "physics.pad_x",
          "must lie in [0, world_width]");
  Positive(p.rocket_width, "physics.rocket_width");
  Positive(p.rocket_height, "physics.rocket_height");
  Positive(p.rocket_mass, "physics.rocket_mass");
  NonNegative(p.linear_damping, "physics.linear_damping");
  NonNegative(p.angular_damping, "physics.angular_damping");
  NonNegative(p.max_thrust, "physics.max_thrust");
  Require(p.max_gimbal_deg >= 0 && p.max_gimbal_deg < 90, "physics.max_gimbal_deg",
          "must be in [0, 90)");
  NonNegative(p.gimbal_arm, "physics.gimbal_arm");

  const RocketSpawnConfig& s = spawn;
  NonNegative(s.x_range, "spawn.x_range");
  Require(p.pad_x - s.x_range >= 0 && p.pad_x + s.x_range <= p.world_width, "spawn.x_range",
          "puts spawns outside the world");
  Require(s.y_min <= s.y_max, "spawn.y_min", "must be <= spawn.y_max");
  Require(s.y_min > 0.5f * p.rocket_height, "spawn.y_min", "must be above the resting height");
  Require(s.y_max < p.ceiling, "spawn.y_max", "must be below the ceiling");
  Require(s.theta_deg >= 0 && s.theta_deg < 90, "spawn.theta_deg", "must be in [0, 90)");
  NonNegative(s.vx_range, "spawn.vx_range");
  Require(s.vy_min <= s.vy_max, "spawn.vy_min", "must be <= spawn.vy_max");
  NonNegative(s.omega_range, "spawn.omega_range");
  Require(s.low_fraction >= 0 && s.low_fraction <= 1, "spawn.low_fraction", "must be in [0, 1]");
  // Checked only when on: a spawn lowered below the default low_y_min needs no curriculum.
  Require(s.LowStartsFit(p.rocket_height), "spawn.low_y_min",
          "must be above the resting height and <= spawn.y_min");
  NonNegative(s.wind_max, "spawn.wind_max");

  NonNegative(landing.max_tilt_deg, "landing.max_tilt_deg");
  NonNegative(landing.max_vx, "landing.max_vx");
  NonNegative(landing.max_vy, "landing.max_vy");
  NonNegative(landing.max_omega, "landing.max_omega");

  const RewardConfig& r = reward;
  Require(r.shaping_gamma > 0 && r.shaping_gamma <= 1, "reward.shaping_gamma", "must be in (0, 1]");
  NonNegative(r.distance_weight, "reward.distance_weight");
  NonNegative(r.speed_weight, "reward.speed_weight");
  NonNegative(r.tilt_weight, "reward.tilt_weight");
  Finite(r.landed_reward, "reward.landed_reward");
  Finite(r.pad_reward, "reward.pad_reward");
  Positive(r.pad_half_width, "reward.pad_half_width");
  Finite(r.crash_reward, "reward.crash_reward");
  NonNegative(r.crash_severity_weight, "reward.crash_severity_weight");
  Require(r.crash_min_reward <= r.crash_reward, "reward.crash_min_reward",
          "must be <= reward.crash_reward");
  Finite(r.out_of_bounds_reward, "reward.out_of_bounds_reward");
  NonNegative(r.fuel_cost, "reward.fuel_cost");

  Require(max_episode_steps > 0, "max_episode_steps", "must be > 0");
}

RocketConfig TrainingRocketConfig() {
  RocketConfig c;
  c.spawn.low_fraction = 0.75f;
  return c;
}

}  // namespace hoverslam
