#include "common/rocket_env.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace hoverslam {
namespace {

constexpr float kDegToRad = 3.14159265358979f / 180.0f;

float Clip(float a) { return std::clamp(a, -1.0f, 1.0f); }

// How far past `limit` |value| is, in units of the limit: 0 within it.
float Excess(float value, float limit) {
  return limit > 0 ? std::max(0.0f, std::abs(value) / limit - 1.0f) : 0.0f;
}

}  // namespace

EnvSpec RocketSpec(const RocketConfig& config) {
  return {kDefaultEnvName,
          kObsDim,
          kActDim,
          {-1, -1},  // thrust (a + 1) / 2 of the maximum, gimbal a of its limit
          {1, 1},
          config.max_episode_steps,
          config.physics.time_step,
          {"soft, upright first ground contact: +100, up to +50 more on the pad",
           "any other first ground contact: -10 to -100 by how far past the limits",
           "left the world's sides or ceiling: -100",
           "the time limit (" + std::to_string(config.max_episode_steps) + " steps)"},
          // Trained policies score 110-150 and need fine buckets there; failures fall to the
          // -100 floors.
          {-150, -100, -75, -50, -25, 0, 25, 50, 75, 100, 110, 120, 130, 140, 150, 175}};
}

RocketEnv::RocketEnv(const RocketConfig& config, uint64_t seed)
    : config_(config), spec_(RocketSpec(config)), physics_(config.physics), rng_(seed) {
  config_.Validate();
}

void RocketEnv::Reset(float* obs) {
  const RocketSpawnConfig& sp = config_.spawn;
  RocketState s;
  s.x = config_.physics.pad_x + rng_.Uniform(-sp.x_range, sp.x_range);
  s.y = rng_.Uniform(sp.y_min, sp.y_max);
  // Drawn only when on, so episodes without the curriculum keep their seeds' states.
  if (sp.low_fraction > 0 && rng_.Uniform(0.0f, 1.0f) < sp.low_fraction) {
    s.y = rng_.Uniform(sp.low_y_min, sp.y_min);
  }
  s.theta = rng_.Uniform(-sp.theta_deg, sp.theta_deg) * kDegToRad;
  s.vx = rng_.Uniform(-sp.vx_range, sp.vx_range);
  s.vy = rng_.Uniform(sp.vy_min, sp.vy_max);
  s.omega = rng_.Uniform(-sp.omega_range, sp.omega_range);
  const float wind = rng_.Uniform(-sp.wind_max, sp.wind_max);
  ResetTo(s, obs);
  wind_ = wind;
}

void RocketEnv::ResetTo(const RocketState& state, float* obs) {
  physics_.Reset(state);
  wind_ = 0;
  steps_ = 0;
  time_limit_ = config_.max_episode_steps;
  return_ = 0;
  WriteObs(physics_.State(), obs);
}

void RocketEnv::ShortenEpisode(int steps) {
  time_limit_ = std::max(steps_ + 1, config_.max_episode_steps - steps);
}

StepResult RocketEnv::Step(const float* action, float* obs) {
  if (!std::isfinite(action[0]) || !std::isfinite(action[1])) {
    throw std::invalid_argument("RocketEnv::Step: non-finite action");
  }
  const float thrust = 0.5f * (Clip(action[0]) + 1.0f);
  const float gimbal = Clip(action[1]);
  const RocketState before = physics_.State();
  physics_.Step(thrust, gimbal, wind_);
  const RocketState after = physics_.State();
  ++steps_;

  StepResult r;
  const LandingConfig& land = config_.landing;
  const RewardConfig& rw = config_.reward;
  float severity = 0;  // excess over the landing limits at touchdown
  if (const auto& td = physics_.touchdown()) {
    const bool soft = std::abs(td->theta) <= land.max_tilt_deg * kDegToRad &&
                      std::abs(td->vx) <= land.max_vx && std::abs(td->vy) <= land.max_vy &&
                      std::abs(td->omega) <= land.max_omega;
    r.outcome = soft ? Outcome::kLanded : Outcome::kCrashed;
    severity = Excess(td->vx, land.max_vx) + Excess(td->vy, land.max_vy) +
               Excess(td->theta, land.max_tilt_deg * kDegToRad) + Excess(td->omega, land.max_omega);
  } else if (physics_.OutOfBounds()) {
    r.outcome = Outcome::kOutOfBounds;
  } else if (steps_ >= time_limit_) {
    r.outcome = Outcome::kTimeout;
  }
  r.terminated = r.outcome != Outcome::kNone && r.outcome != Outcome::kTimeout;
  r.truncated = r.outcome == Outcome::kTimeout;

  // F = gamma * Phi(s') - Phi(s), with Phi(terminal) = 0: leaves the optimal policy unchanged.
  const float next_potential = r.terminated ? 0.0f : Potential(after);
  r.reward = rw.shaping_gamma * next_potential - Potential(before);
  r.reward -= rw.fuel_cost * thrust * config_.physics.time_step;
  switch (r.outcome) {
    case Outcome::kLanded: {
      const float off = std::abs(physics_.touchdown()->x - config_.physics.pad_x);
      r.reward += rw.landed_reward + rw.pad_reward * std::max(0.0f, 1.0f - off / rw.pad_half_width);
      break;
    }
    case Outcome::kCrashed:
      r.reward +=
          std::max(rw.crash_min_reward, rw.crash_reward - rw.crash_severity_weight * severity);
      break;
    case Outcome::kOutOfBounds:
      r.reward += rw.out_of_bounds_reward;
      break;
    default:
      break;
  }
  return_ += r.reward;
  WriteObs(after, obs);
  return r;
}

void RocketEnv::WriteObs(const RocketState& s, float* obs) const {
  obs[0] = s.x;
  obs[1] = s.y;
  obs[2] = s.theta;
  obs[3] = s.vx;
  obs[4] = s.vy;
  obs[5] = s.omega;
}

float RocketEnv::Potential(const RocketState& s) const {
  const RewardConfig& rw = config_.reward;
  const float dx = s.x - config_.physics.pad_x;
  const float dy = s.y - 0.5f * config_.physics.rocket_height;  // height above resting
  return -(rw.distance_weight * std::sqrt(dx * dx + dy * dy) +
           rw.speed_weight * std::sqrt(s.vx * s.vx + s.vy * s.vy) +
           rw.tilt_weight * std::abs(s.theta));
}

}  // namespace hoverslam
