// Rigid-body dynamics of the rocket in Box2D: forces in, state out. Knows
// nothing of rewards, observations or episodes.
#pragma once

#include <memory>
#include <optional>

#include "common/rocket_config.h"

class b2Body;
class b2World;

namespace hoverslam {

// theta is the body angle from upright, counter-clockwise positive, in (-pi, pi].
struct RocketState {
  float x = 0, y = 0, theta = 0, vx = 0, vy = 0, omega = 0;
};

// Not thread-safe: one instance per thread (each owns its own b2World).
class RocketPhysics {
 public:
  explicit RocketPhysics(const RocketPhysicsConfig& config);
  ~RocketPhysics();
  RocketPhysics(const RocketPhysics&) = delete;
  RocketPhysics& operator=(const RocketPhysics&) = delete;

  // Places a fresh rocket body at `state`; forgets any touchdown.
  void Reset(const RocketState& state);

  // Advances one time step. thrust in [0, 1] of max_thrust; gimbal in [-1, 1] of
  // max_gimbal_deg, where gimbal > 0 turns the rocket counter-clockwise (theta grows)
  // and pushes it toward +x; wind is a lateral force in N at the centre of mass.
  void Step(float thrust, float gimbal, float wind);

  RocketState State() const;

  // State at the first ground contact since Reset, taken before the contact is
  // resolved (the impact velocity), or nullopt while airborne.
  const std::optional<RocketState>& touchdown() const { return touchdown_; }

  // Centre of mass outside [0, world_width] x (-inf, ceiling].
  bool OutOfBounds() const;

  const RocketPhysicsConfig& config() const { return config_; }

 private:
  class ContactListener;

  RocketPhysicsConfig config_;
  std::unique_ptr<b2World> world_;
  std::unique_ptr<ContactListener> listener_;
  b2Body* rocket_ = nullptr;
  std::optional<RocketState> touchdown_;
};

}  // namespace hoverslam
