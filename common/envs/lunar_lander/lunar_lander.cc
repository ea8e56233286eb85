#include "common/envs/lunar_lander/lunar_lander.h"

#include <box2d/box2d.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hoverslam {

using namespace lunar;  // NOLINT: the task's constants read as Gymnasium's

namespace {

constexpr uint16_t kGroundBits = 0x0001, kLanderBits = 0x0010, kLegBits = 0x0020;

}  // namespace

const EnvSpec& LunarLanderSpec() {
  static const EnvSpec spec{
      "lunar_lander_continuous",
      kObsDim,
      kActDim,
      {-1, -1},  // main engine (off below 0), side engines (off inside +-0.5)
      {1, 1},
      kMaxEpisodeSteps,
      1.0 / kFps,
      {"came to rest (Box2D put the lander to sleep): +100", "the hull touched the ground: -100",
       "|x| >= 1, off the side of the screen: -100", "1,000 steps"},
      {-400, -300, -200, -150, -100, -50, 0, 50, 100, 150, 200, 220, 240, 260, 280, 300, 350}};
  return spec;
}

MirrorSpec LunarLanderMirror() {
  MirrorSpec m;
  // [x, y, vx, vy, angle, angular velocity, leg 0 contact, leg 1 contact]
  m.obs.perm = {0, 1, 2, 3, 4, 5, 7, 6};
  m.obs.sign = {-1, 1, -1, 1, -1, -1, 1, 1};
  m.obs.offset = {0, 0, 0, 0, 0, 0, 0, 0};
  // [main, lateral]
  m.act.perm = {0, 1};
  m.act.sign = {1, -1};
  m.act.offset = {0, 0};
  return m;
}

// Gymnasium's ContactDetector: the hull touching anything ends the episode; each leg's
// contact flag follows its contacts.
class LunarLanderEnv::ContactListener : public b2ContactListener {
 public:
  explicit ContactListener(LunarLanderEnv* env) : env_(env) {}
  void BeginContact(b2Contact* contact) override { Update(contact, true); }
  void EndContact(b2Contact* contact) override { Update(contact, false); }

 private:
  void Update(b2Contact* contact, bool begin) {
    const b2Body* a = contact->GetFixtureA()->GetBody();
    const b2Body* b = contact->GetFixtureB()->GetBody();
    if (begin && (a == env_->lander_ || b == env_->lander_)) env_->game_over_ = true;
    for (int i = 0; i < 2; ++i) {
      if (a == env_->legs_[i] || b == env_->legs_[i]) env_->leg_contact_[i] = begin;
    }
  }
  LunarLanderEnv* env_;
};

LunarLanderEnv::LunarLanderEnv(uint64_t seed)
    : rng_(seed), listener_(std::make_unique<ContactListener>(this)) {}

LunarLanderEnv::~LunarLanderEnv() = default;

void LunarLanderEnv::Build() {
  world_ = std::make_unique<b2World>(b2Vec2(0, kGravity));
  world_->SetContactListener(listener_.get());
  game_over_ = false;
  leg_contact_[0] = leg_contact_[1] = false;
  have_shaping_ = false;

  // Terrain: random chunk heights, five of them flattened to the pad, then smoothed with
  // 0.33 (not 1/3: the pad sits at 0.99 x kHelipadY). Index -1 wraps to the last height,
  // as Python's height[-1] does.
  float height[kChunks + 1];
  for (float& h : height) h = rng_.Uniform(0, kH / 2);
  for (int k = -2; k <= 2; ++k) height[kChunks / 2 + k] = kHelipadY;
  for (int i = 0; i < kChunks; ++i) {
    smooth_y_[i] = 0.33f * (height[i == 0 ? kChunks : i - 1] + height[i] + height[i + 1]);
  }
  b2BodyDef moon_def;
  b2Body* moon = world_->CreateBody(&moon_def);
  b2EdgeShape edge;
  edge.SetTwoSided(b2Vec2(0, 0), b2Vec2(kW, 0));
  moon->CreateFixture(&edge, 0);  // pybox2d's defaults: friction 0.2
  for (int i = 0; i + 1 < kChunks; ++i) {
    const float x1 = kW / (kChunks - 1) * i, x2 = kW / (kChunks - 1) * (i + 1);
    edge.SetTwoSided(b2Vec2(x1, smooth_y_[i]), b2Vec2(x2, smooth_y_[i + 1]));
    b2FixtureDef f;
    f.shape = &edge;
    f.density = 0;
    f.friction = 0.1f;
    moon->CreateFixture(&f);
  }

  const float x0 = kW / 2, y0 = kH;
  b2BodyDef body;
  body.type = b2_dynamicBody;
  body.position.Set(x0, y0);
  lander_ = world_->CreateBody(&body);
  b2Vec2 hull[6];
  for (int i = 0; i < 6; ++i) hull[i].Set(kLanderPoly[i][0] / kScale, kLanderPoly[i][1] / kScale);
  b2PolygonShape hull_shape;
  hull_shape.Set(hull, 6);
  b2FixtureDef hull_fixture;
  hull_fixture.shape = &hull_shape;
  hull_fixture.density = 5;
  hull_fixture.friction = 0.1f;
  hull_fixture.restitution = 0;
  hull_fixture.filter.categoryBits = kLanderBits;
  hull_fixture.filter.maskBits = kGroundBits;
  lander_->CreateFixture(&hull_fixture);
  const float fx = rng_.Uniform(-kInitialRandom, kInitialRandom);
  const float fy = rng_.Uniform(-kInitialRandom, kInitialRandom);
  lander_->ApplyForceToCenter(b2Vec2(fx, fy), true);

  for (int k = 0; k < 2; ++k) {
    const float i = k == 0 ? -1.0f : 1.0f;
    body.position.Set(x0 - i * kLegAway / kScale, y0);
    body.angle = i * 0.05f;
    legs_[k] = world_->CreateBody(&body);
    b2PolygonShape box;
    box.SetAsBox(kLegW / kScale, kLegH / kScale);
    b2FixtureDef leg_fixture;
    leg_fixture.shape = &box;
    leg_fixture.density = 1;
    leg_fixture.restitution = 0;
    leg_fixture.filter.categoryBits = kLegBits;
    leg_fixture.filter.maskBits = kGroundBits;
    legs_[k]->CreateFixture(&leg_fixture);

    b2RevoluteJointDef joint;
    joint.bodyA = lander_;
    joint.bodyB = legs_[k];
    joint.localAnchorA.Set(0, 0);
    joint.localAnchorB.Set(i * kLegAway / kScale, kLegDown / kScale);
    joint.referenceAngle = i * 0.05f;  // pybox2d sets it to the bodies' angle difference
    joint.enableMotor = true;
    joint.enableLimit = true;
    joint.maxMotorTorque = kLegSpringTorque;
    joint.motorSpeed = 0.3f * i;  // low enough not to jump back into the sky
    joint.lowerAngle = k == 0 ? 0.4f : -0.9f;
    joint.upperAngle = k == 0 ? 0.9f : -0.4f;
    world_->CreateJoint(&joint);
  }
}

void LunarLanderEnv::Reset(float* obs) {
  Build();
  steps_ = 0;
  return_ = 0;
  time_limit_ = kMaxEpisodeSteps;
  const float engines_off[kActDim] = {0, 0};
  Advance(engines_off, obs);
}

void LunarLanderEnv::ShortenEpisode(int steps) {
  time_limit_ = std::max(steps_ + 1, kMaxEpisodeSteps - steps);
}

StepResult LunarLanderEnv::Step(const float* action, float* obs) {
  if (!std::isfinite(action[0]) || !std::isfinite(action[1])) {
    throw std::invalid_argument("LunarLanderEnv::Step: non-finite action");
  }
  StepResult r = Advance(action, obs);
  ++steps_;
  if (!r.terminated && steps_ >= time_limit_) {
    r.truncated = true;
    r.outcome = Outcome::kTimeout;
  }
  return_ += r.reward;
  return r;
}

StepResult LunarLanderEnv::Advance(const float* action, float* obs) {
  const float main = std::clamp(action[0], -1.0f, 1.0f);
  const float lateral = std::clamp(action[1], -1.0f, 1.0f);
  const b2Vec2 pos = lander_->GetPosition();
  const float angle = lander_->GetAngle();
  const b2Vec2 tip(std::sin(angle), std::cos(angle));
  const b2Vec2 side(-tip.y, tip.x);
  // Where each engine's impulse acts jitters every step, whether it fires or not.
  const float d0 = rng_.Uniform(-1, 1) / kScale;
  const float d1 = rng_.Uniform(-1, 1) / kScale;

  float m_power = 0;
  if (main > 0) {  // the main engine runs at 50-100% or not at all
    m_power = (std::clamp(main, 0.0f, 1.0f) + 1) * 0.5f;
    const float ox = tip.x * (kMainEngineYLocation / kScale + 2 * d0) + side.x * d1;
    const float oy = -tip.y * (kMainEngineYLocation / kScale + 2 * d0) - side.y * d1;
    lander_->ApplyLinearImpulse(
        b2Vec2(-ox * kMainEnginePower * m_power, -oy * kMainEnginePower * m_power),
        b2Vec2(pos.x + ox, pos.y + oy), true);
  }
  float s_power = 0;
  if (std::abs(lateral) > 0.5f) {  // a side engine at 50-100%, by the sign
    const float direction = lateral > 0 ? 1.0f : -1.0f;
    s_power = std::clamp(std::abs(lateral), 0.5f, 1.0f);
    const float arm = 3 * d1 + direction * kSideEngineAway / kScale;
    const float ox = tip.x * d0 + side.x * arm;
    const float oy = -tip.y * d0 - side.y * arm;
    lander_->ApplyLinearImpulse(
        b2Vec2(-ox * kSideEnginePower * s_power, -oy * kSideEnginePower * s_power),
        b2Vec2(pos.x + ox - tip.x * kSideEngineX / kScale,
               pos.y + oy + tip.y * kSideEngineHeight / kScale),
        true);
  }

  world_->Step(1.0f / kFps, 6 * 30, 2 * 30);

  // The body origin, not the centre of mass, as Gymnasium reads `position`.
  const b2Vec2 p = lander_->GetPosition();
  const b2Vec2 v = lander_->GetLinearVelocity();
  const double s[kObsDim] = {
      (p.x - kW / 2) / (kW / 2),   (p.y - (kHelipadY + kLegDown / kScale)) / (kH / 2),
      v.x * (kW / 2) / kFps,       v.y * (kH / 2) / kFps,
      lander_->GetAngle(),         20.0 * lander_->GetAngularVelocity() / kFps,
      leg_contact_[0] ? 1.0 : 0.0, leg_contact_[1] ? 1.0 : 0.0};
  for (int i = 0; i < kObsDim; ++i) obs[i] = static_cast<float>(s[i]);

  StepResult r;
  const double shaping = -100 * std::sqrt(s[0] * s[0] + s[1] * s[1]) -
                         100 * std::sqrt(s[2] * s[2] + s[3] * s[3]) - 100 * std::abs(s[4]) +
                         10 * s[6] + 10 * s[7];
  double reward = have_shaping_ ? shaping - prev_shaping_ : 0.0;
  prev_shaping_ = shaping;
  have_shaping_ = true;
  reward -= m_power * 0.30;  // fuel
  reward -= s_power * 0.03;
  // A terminal reward replaces the step's; coming to rest is checked last, so +100 wins
  // over a hull contact in the same step.
  if (game_over_ || std::abs(s[0]) >= 1.0) {
    r.terminated = true;
    r.outcome = game_over_ ? Outcome::kCrashed : Outcome::kOutOfBounds;
    reward = -100;
  }
  if (!lander_->IsAwake()) {
    r.terminated = true;
    r.outcome = Outcome::kLanded;
    reward = 100;
  }
  r.reward = static_cast<float>(reward);
  m_power_ = m_power;
  s_power_ = lateral > 0 ? s_power : -s_power;
  return r;
}

void LunarLanderHeuristic(const float* s, float* action) {
  const float angle_target = std::clamp(s[0] * 0.5f + s[2] * 1.0f, -0.4f, 0.4f);
  const float hover_target = 0.55f * std::abs(s[0]);
  float angle_todo = (angle_target - s[4]) * 0.5f - s[5] * 1.0f;
  float hover_todo = (hover_target - s[1]) * 0.5f - s[3] * 0.5f;
  if (s[6] != 0 || s[7] != 0) {  // after touchdown only brake the fall
    angle_todo = 0;
    hover_todo = -s[3] * 0.5f;
  }
  action[0] = std::clamp(hover_todo * 20 - 1, -1.0f, 1.0f);
  action[1] = std::clamp(-angle_todo * 20, -1.0f, 1.0f);
}

}  // namespace hoverslam
