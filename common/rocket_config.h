// Every parameter of the rocket-landing task. SI units, angles in radians
// unless a name says degrees. Defaults follow DESIGN.md.
#pragma once

#include <string>

namespace hoverslam {

// Rigid-body physics of the rocket and its world (no rewards here).
struct RocketPhysicsConfig {
  float gravity = 9.81f;           // m/s^2, downward
  float time_step = 1.0f / 60.0f;  // s per env step (60 Hz)
  int velocity_iterations = 8;     // Box2D solver iterations per step
  int position_iterations = 3;     // Box2D position-correction iterations
  float world_width = 80.0f;       // world x in [0, world_width]
  float ceiling = 45.0f;           // world y in [ground, ceiling]
  float pad_x = 40.0f;             // landing pad centre
  float rocket_width = 2.0f;       // m
  float rocket_height = 4.0f;      // m
  float rocket_mass = 1.0f;        // kg
  float linear_damping = 1.5f;     // Box2D linear damping, 1/s
  float angular_damping = 2.0f;    // Box2D angular damping, 1/s
  float max_thrust = 15.0f;        // N at action a0 = +1
  float max_gimbal_deg = 15.0f;    // gimbal angle at action a1 = +1
  float gimbal_arm = 1.0f;         // m below the centre of mass where thrust acts
};

// Episode start distribution; every range is uniform and centred as named.
struct RocketSpawnConfig {
  float x_range = 30.0f;     // x = pad_x +- x_range
  float y_min = 30.0f;       // y in [y_min, y_max]
  float y_max = 40.0f;       // spawn height upper bound
  float theta_deg = 15.0f;   // theta = +- theta_deg
  float vx_range = 2.0f;     // vx = +- vx_range
  float vy_min = -2.0f;      // vy in [vy_min, vy_max]
  float vy_max = 0.0f;       // initial vertical speed upper bound
  float omega_range = 0.1f;  // omega = +- omega_range
  // Constant lateral force per episode, N, drawn in +- wind_max and never observed: the policy
  // reads the drift from its state. 2 N (0.2 g on the 1 kg rocket) is where the scripted
  // heuristic lands about 2 episodes in 3.
  float wind_max = 2.0f;
  // Training curriculum (actors only; evaluation keeps 0): this fraction of episodes starts
  // lower, at a height uniform in [low_y_min, y_min], the rest of the state drawn as above.
  float low_fraction = 0.0f;
  float low_y_min = 5.0f;

  // Whether the low starts fit the task: the curriculum is off, or low_y_min is above the
  // resting height (half the rocket) and at most y_min.
  bool LowStartsFit(float rocket_height) const {
    return low_fraction == 0 || (low_y_min > 0.5f * rocket_height && low_y_min <= y_min);
  }
};

// What counts as a landing, at the first ground contact.
struct LandingConfig {
  float max_tilt_deg = 10.0f;  // |theta|
  float max_vx = 0.7f;         // |vx|, m/s
  float max_vy = 0.7f;         // |vy|, m/s
  float max_omega = 0.05f;     // |omega|, rad/s
};

// Reward: progress shaping Phi(s') - Phi(s) plus terminal terms and a fuel cost.
struct RewardConfig {
  // 1 (progress shaping) by default, not the learner's gamma. With gamma the shaping is
  // policy-invariant, but then its per-step (1 - gamma) |Phi| bonus for staying away pays
  // exactly what moving closer would, and PPO learned to hover and never landed. At 1,
  // it is the invariant shaping plus a small per-step cost (1 - gamma) |Phi(s')| on
  // distance, speed and tilt: "do not loiter". See the README's design notes.
  float shaping_gamma = 1.0f;
  float distance_weight = 1.0f;  // potential per m from the pad (x) and ground (y)
  float speed_weight = 1.0f;     // potential per m/s of speed
  float tilt_weight = 5.0f;      // potential per rad of tilt
  float landed_reward = 100.0f;  // soft upright touchdown
  float pad_reward = 50.0f;      // extra, falling linearly to 0 at pad_half_width
  float pad_half_width = 5.0f;   // m
  // A crash costs crash_reward minus crash_severity_weight per unit of excess over the
  // landing limits (sum over |vx|, |vy|, |theta|, |omega| of max(0, value / limit - 1)),
  // floored at crash_min_reward. Grading crashes gives near-misses a gradient toward a
  // landing; every crash still scores below every landing.
  float crash_reward = -10.0f;
  float crash_severity_weight = 10.0f;
  float crash_min_reward = -100.0f;
  float out_of_bounds_reward = -100.0f;
  float fuel_cost = 3.0f;  // per second at full thrust: hovering costs, so does stalling
};

struct RocketConfig {
  RocketPhysicsConfig physics;
  RocketSpawnConfig spawn;
  LandingConfig landing;
  RewardConfig reward;
  int max_episode_steps = 1200;  // time limit (truncation): 20 s at 60 Hz

  // Throws std::invalid_argument naming the first bad field.
  void Validate() const;
};

// The task as actors train on it: the defaults plus the curriculum (RocketSpawnConfig::
// low_fraction). Evaluation, the heuristic and benchmarks use RocketConfig{}.
RocketConfig TrainingRocketConfig();

}  // namespace hoverslam
