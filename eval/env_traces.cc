#include <algorithm>

#include <box2d/box2d.h>

#include "common/envs/lunar_lander/lunar_lander.h"
#include "common/rocket_env.h"
#include "eval/evaluate.h"

namespace hoverslam::eval {
namespace {

void RecordRocket(EpisodeTrace& trace, const Env& env, const float* a) {
  const auto& rocket = static_cast<const RocketEnv&>(env);
  // The env applies exactly these: thrust (clip(a0) + 1) / 2, gimbal clip(a1).
  const float thrust = a ? 0.5f * (std::clamp(a[0], -1.0f, 1.0f) + 1.0f) : 0.0f;
  const float gimbal = a ? std::clamp(a[1], -1.0f, 1.0f) : 0.0f;
  trace.points.push_back(TracePoint{rocket.physics().State(), thrust, gimbal});
}

void RecordLunarLander(EpisodeTrace& trace, const Env& env, const float* a) {
  const auto& ll = static_cast<const LunarLanderEnv&>(env);
  LunarPoint p;
  const b2Body* bodies[3] = {ll.lander(), ll.leg(0), ll.leg(1)};
  for (int b = 0; b < 3; ++b) {
    p.x[b] = bodies[b]->GetPosition().x;
    p.y[b] = bodies[b]->GetPosition().y;
    p.angle[b] = bodies[b]->GetAngle();
  }
  p.main = a ? ll.main_power() : 0.0f;
  p.side = a ? ll.side_power() : 0.0f;
  trace.lunar.push_back(p);
  if (trace.terrain.empty()) {
    for (int i = 0; i < lunar::kChunks; ++i) trace.terrain.push_back(ll.terrain_y(i));
  }
}

}  // namespace

TraceRecorder FindTraceRecorder(const std::string& env) {
  // One line per env that hoverslam-eval --render draws (render_gif.cc has its scene).
  if (env == kDefaultEnvName) return RecordRocket;
  if (env == LunarLanderSpec().name) return RecordLunarLander;
  return nullptr;
}

}  // namespace hoverslam::eval
