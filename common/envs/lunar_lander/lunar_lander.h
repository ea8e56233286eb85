// LunarLanderContinuous-v3, the published benchmark task, on Box2D 2.4: the constants,
// terrain, legs and joints, engine impulses with their dispersion, observation scalings,
// reward and terminal rules of Gymnasium's version, and its 1,000-step time limit.
#pragma once

#include <cstdint>
#include <memory>

#include "common/env.h"
#include "common/mirror.h"
#include "common/rng.h"

class b2Body;
class b2World;

namespace hoverslam {

// The task's constants (Gymnasium's names; lengths in pixels are divided by kScale).
namespace lunar {
// x, y, vx, vy, angle, angular velocity, then the contacts of leg 0 and leg 1 (Gymnasium's
// legs[0], its i = -1, sits on the +x side; legs[1] on the -x side)
constexpr int kObsDim = 8;
constexpr int kActDim = 2;  // main engine, side engines
constexpr float kFps = 50;
constexpr float kScale = 30;  // pixels per metre
constexpr float kMainEnginePower = 13;
constexpr float kSideEnginePower = 0.6f;
constexpr float kInitialRandom = 1000;  // N, the largest initial force on each axis
constexpr float kLegAway = 20, kLegDown = 18, kLegW = 2, kLegH = 8;
constexpr float kLegSpringTorque = 40;
constexpr float kSideEngineHeight = 14, kSideEngineAway = 12, kMainEngineYLocation = 4;
constexpr float kSideEngineX = 17;  // px from the centre where a side impulse acts (Gymnasium's 17)
// The hull, in pixels (LANDER_POLY).
constexpr float kLanderPoly[6][2] = {{-14, 17}, {-17, 0}, {-17, -10}, {17, -10}, {17, 0}, {14, 17}};
constexpr float kViewportW = 600, kViewportH = 400;
constexpr float kW = kViewportW / kScale, kH = kViewportH / kScale;  // 20 x 13.33 m
constexpr int kChunks = 11;
constexpr float kHelipadY = kH / 4;  // the pad's nominal height; the terrain smooths it to 0.99x
constexpr float kGravity = -10;
constexpr int kMaxEpisodeSteps = 1000;
}  // namespace lunar

const EnvSpec& LunarLanderSpec();

// The task's left-right symmetry about the pad (x = W/2): x, vx, angle and angular velocity
// change sign, the legs' contacts swap, and the side engines swap (the lateral action changes
// sign). Terrain, dispersion and the initial force are drawn symmetrically.
MirrorSpec LunarLanderMirror();

// Not thread-safe: one instance per thread (each owns its b2World).
class LunarLanderEnv : public Env {
 public:
  explicit LunarLanderEnv(uint64_t seed);
  ~LunarLanderEnv() override;
  LunarLanderEnv(const LunarLanderEnv&) = delete;
  LunarLanderEnv& operator=(const LunarLanderEnv&) = delete;

  const EnvSpec& spec() const override { return LunarLanderSpec(); }
  // New terrain and lander, the random initial force, then one step with the engines off
  // (Gymnasium's reset does the same), whose observation is the first.
  void Reset(float* obs) override;
  StepResult Step(const float* action, float* obs) override;
  void ShortenEpisode(int steps) override;
  int episode_steps() const override { return steps_; }
  float episode_return() const override { return return_; }

  // For tests and rendering.
  const b2Body* lander() const { return lander_; }
  const b2Body* leg(int i) const { return legs_[i]; }
  const b2World& world() const { return *world_; }
  float terrain_y(int i) const { return smooth_y_[i]; }  // i in [0, kChunks)
  bool leg_contact(int i) const { return leg_contact_[i]; }
  float main_power() const { return m_power_; }  // last step's main engine, 0 or 0.5-1
  float side_power() const { return s_power_; }  // last step's side engine, signed: 0 or 0.5-1

 private:
  class ContactListener;
  void Build();
  // One physics step with `action`; writes obs and returns the step's reward and outcome
  // without the time limit.
  StepResult Advance(const float* action, float* obs);

  Rng rng_;
  std::unique_ptr<ContactListener> listener_;  // outlives world_, which calls it
  std::unique_ptr<b2World> world_;
  b2Body* lander_ = nullptr;
  b2Body* legs_[2] = {nullptr, nullptr};
  float smooth_y_[lunar::kChunks] = {};
  bool leg_contact_[2] = {false, false};
  bool game_over_ = false;  // the hull touched the ground
  bool have_shaping_ = false;
  float m_power_ = 0, s_power_ = 0;
  double prev_shaping_ = 0;
  int steps_ = 0;
  int time_limit_ = lunar::kMaxEpisodeSteps;
  float return_ = 0;
};

// Gymnasium's scripted controller for the continuous task: points the lander at the pad,
// holds a height proportional to the horizontal offset, and only brakes after touchdown.
// obs[8] in, action[2] in [-1, 1] out.
void LunarLanderHeuristic(const float* obs, float* action);

}  // namespace hoverslam
