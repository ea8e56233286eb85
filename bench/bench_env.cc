// Steps per second of (a) a bare Box2D world with one hovering box over static
// ground, (b) one RocketEnv, (c) VecEnv with N = 16, and (d) LunarLanderContinuous single
// and vectorised (random actions, with resets), all in one run on one core.
#include <box2d/box2d.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/envs/lunar_lander/lunar_lander.h"
#include "common/rng.h"
#include "common/vec_env.h"

using namespace hoverslam;
using bench::MedianRate;

namespace {

constexpr int kRepeats = 7;
constexpr int kSteps = 200000;

// The physical limit: the same body, shape, damping and solver settings as the
// rocket, with Box2D's own per-step work and nothing else.
double BareBox2d() {
  const RocketPhysicsConfig c;
  b2World world(b2Vec2(0, -c.gravity));
  world.SetAllowSleeping(false);
  b2BodyDef ground_def;
  b2EdgeShape edge;
  edge.SetTwoSided(b2Vec2(-c.world_width, 0), b2Vec2(2 * c.world_width, 0));
  world.CreateBody(&ground_def)->CreateFixture(&edge, 0.0f);
  b2BodyDef def;
  def.type = b2_dynamicBody;
  def.position.Set(c.pad_x, 20);
  def.linearDamping = c.linear_damping;
  def.angularDamping = c.angular_damping;
  b2Body* body = world.CreateBody(&def);
  b2PolygonShape box;
  box.SetAsBox(0.5f * c.rocket_width, 0.5f * c.rocket_height);
  body->CreateFixture(&box, c.rocket_mass / (c.rocket_width * c.rocket_height));
  return MedianRate(kRepeats, [&] {
    for (int i = 0; i < kSteps; ++i) {
      body->ApplyForce(b2Vec2(0, c.gravity * c.rocket_mass), body->GetWorldCenter(), true);
      world.Step(c.time_step, c.velocity_iterations, c.position_iterations);
    }
    return kSteps;
  });
}

std::vector<float> RandomActions(int count) {
  Rng rng(5);
  std::vector<float> a(count);
  for (float& x : a) x = rng.Uniform(-1.0f, 1.0f);
  return a;
}

// One env of type E, made from `args`, stepped `steps` times with random actions and reset at
// each episode's end. A local of its own type, not an Env&, so its steps are direct calls.
template <typename E, typename... Args>
double Single(int steps, const Args&... args) {
  E env(args...);
  const int act_dim = env.spec().act_dim;
  std::vector<float> obs(env.spec().obs_dim);
  env.Reset(obs.data());
  const std::vector<float> actions = RandomActions(4096 * act_dim);
  return MedianRate(kRepeats, [&] {
    for (int i = 0; i < steps; ++i) {
      const StepResult r = env.Step(&actions[(i % 4096) * act_dim], obs.data());
      if (r.terminated || r.truncated) env.Reset(obs.data());
    }
    return steps;
  });
}

double Vec(const std::string& name, int n, int steps) {
  VecEnv env(name, EnvOptions{}, n, 1);
  const int rows = 256, act_dim = env.act_dim();
  const std::vector<float> actions = RandomActions(rows * n * act_dim);
  const int vec_steps = steps / n;
  return MedianRate(kRepeats, [&] {
    for (int i = 0; i < vec_steps; ++i) env.Step(&actions[(i % rows) * n * act_dim]);
    return static_cast<double>(vec_steps) * n;
  });
}

// EnvPool's C++ port of the same task (Box2D 2.4.1) steps about this many times a second
// on one core of this machine.
constexpr double kLunarTarget = 60000;
constexpr int kLunarSteps = 40000;

}  // namespace

int main() {
  const double box2d = BareBox2d();
  const double single = Single<RocketEnv>(kSteps, RocketConfig{}, uint64_t{1});
  const double vec16 = Vec(kDefaultEnvName, 16, kSteps);
  const double lunar = Single<LunarLanderEnv>(kLunarSteps, uint64_t{1});
  const double lunar16 = Vec(LunarLanderSpec().name, 16, kLunarSteps);
  std::printf("%-36s %14s\n", "case (median of 7, one core)", "steps/s");
  std::printf("%-36s %14.0f\n", "bare Box2D world, one box", box2d);
  std::printf("%-36s %14.0f\n", "RocketEnv (random actions)", single);
  std::printf("%-36s %14.0f\n", "VecEnv N=16 (env steps)", vec16);
  std::printf("%-36s %14.0f\n", "LunarLanderEnv (random actions)", lunar);
  std::printf("%-36s %14.0f\n", "VecEnv lunar N=16 (env steps)", lunar16);
  std::printf("ratio env/box2d %.3f (target >= 0.6); vec16 %.0f (target >= 250000)\n",
              single / box2d, vec16);
  std::printf("lunar %.0f, vectorised %.0f (target >= %.0f, EnvPool's port on this machine)\n",
              lunar, lunar16, kLunarTarget);
  std::printf(
      "{\"bench\":\"env\",\"box2d_steps_per_s\":%.0f,\"env_steps_per_s\":%.0f,"
      "\"vec16_steps_per_s\":%.0f,\"ratio_env_vs_box2d\":%.3f,\"ratio_vec16_vs_target\":%.3f,"
      "\"lunar_steps_per_s\":%.0f,\"lunar_vec16_steps_per_s\":%.0f,"
      "\"ratio_lunar_vs_target\":%.3f,\"ratio_lunar_vec16_vs_target\":%.3f}\n",
      box2d, single, vec16, single / box2d, vec16 / 250000.0, lunar, lunar16, lunar / kLunarTarget,
      lunar16 / kLunarTarget);
  return 0;
}
