#include "common/rocket_physics.h"

#include <box2d/box2d.h>

#include <cmath>

namespace hoverslam {
namespace {

constexpr float kPi = 3.14159265358979f;

float WrapAngle(float a) { return std::remainder(a, 2.0f * kPi); }

}  // namespace

// The only possible contact is rocket-ground, so any begin is a touchdown.
class RocketPhysics::ContactListener : public b2ContactListener {
 public:
  explicit ContactListener(RocketPhysics* physics) : physics_(physics) {}
  void BeginContact(b2Contact*) override {
    // Called from Collide, before the solver: velocities are still the impact's.
    if (!physics_->touchdown_) physics_->touchdown_ = physics_->State();
  }

 private:
  RocketPhysics* physics_;
};

RocketPhysics::RocketPhysics(const RocketPhysicsConfig& config)
    : config_(config),
      world_(std::make_unique<b2World>(b2Vec2(0.0f, -config.gravity))),
      listener_(std::make_unique<ContactListener>(this)) {
  world_->SetAllowSleeping(false);
  world_->SetContactListener(listener_.get());

  b2BodyDef ground_def;
  b2Body* ground = world_->CreateBody(&ground_def);
  b2EdgeShape edge;
  // Wider than the world so a rocket leaving sideways never falls past the edge.
  edge.SetTwoSided(b2Vec2(-config.world_width, 0.0f), b2Vec2(2.0f * config.world_width, 0.0f));
  ground->CreateFixture(&edge, 0.0f);

  Reset(RocketState{config.pad_x, config.ceiling - config.rocket_height, 0, 0, 0, 0});
}

RocketPhysics::~RocketPhysics() = default;

void RocketPhysics::Reset(const RocketState& s) {
  // A new body each episode leaves no contact or solver state behind, so an episode
  // depends only on its start state.
  if (rocket_ != nullptr) world_->DestroyBody(rocket_);
  b2BodyDef def;
  def.type = b2_dynamicBody;
  def.position.Set(s.x, s.y);
  def.angle = s.theta;
  def.linearVelocity.Set(s.vx, s.vy);
  def.angularVelocity = s.omega;
  def.linearDamping = config_.linear_damping;
  def.angularDamping = config_.angular_damping;
  rocket_ = world_->CreateBody(&def);

  b2PolygonShape box;
  const float hw = 0.5f * config_.rocket_width, hh = 0.5f * config_.rocket_height;
  box.SetAsBox(hw, hh);
  b2FixtureDef fixture;
  fixture.shape = &box;
  fixture.density = config_.rocket_mass / (config_.rocket_width * config_.rocket_height);
  fixture.friction = 0.5f;
  rocket_->CreateFixture(&fixture);
  touchdown_.reset();
}

void RocketPhysics::Step(float thrust, float gimbal, float wind) {
  const float angle = rocket_->GetAngle();
  const float delta = gimbal * config_.max_gimbal_deg * (kPi / 180.0f);
  const float force = thrust * config_.max_thrust;
  // Body axis u = (-sin a, cos a); thrust acts along u turned clockwise by delta, at
  // gimbal_arm below the centre, so its torque is +force * sin(delta) * arm.
  const float up_x = -std::sin(angle), up_y = std::cos(angle);
  const float dir = angle - delta;
  const b2Vec2 f(-std::sin(dir) * force, std::cos(dir) * force);
  const b2Vec2 c = rocket_->GetWorldCenter();
  const b2Vec2 at(c.x - config_.gimbal_arm * up_x, c.y - config_.gimbal_arm * up_y);
  rocket_->ApplyForce(f, at, true);
  if (wind != 0.0f) rocket_->ApplyForceToCenter(b2Vec2(wind, 0.0f), true);
  world_->Step(config_.time_step, config_.velocity_iterations, config_.position_iterations);
}

RocketState RocketPhysics::State() const {
  const b2Vec2 p = rocket_->GetWorldCenter();
  const b2Vec2 v = rocket_->GetLinearVelocity();
  return RocketState{p.x, p.y, WrapAngle(rocket_->GetAngle()),
                     v.x, v.y, rocket_->GetAngularVelocity()};
}

bool RocketPhysics::OutOfBounds() const {
  const b2Vec2 p = rocket_->GetWorldCenter();
  return p.x < 0.0f || p.x > config_.world_width || p.y > config_.ceiling;
}

}  // namespace hoverslam
