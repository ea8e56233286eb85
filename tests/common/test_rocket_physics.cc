// Physics checked against numbers worked out by hand from Box2D's integrator:
// v += h * (g + F/m), then v *= 1 / (1 + h * damping).
#include <gtest/gtest.h>

#include <cmath>

#include "common/rocket_physics.h"

namespace hoverslam {
namespace {

constexpr float kH = 1.0f / 60.0f;
constexpr double kPi = 3.14159265358979;

TEST(RocketPhysics, FreeFallApproachesDampedTerminalSpeed) {
  RocketPhysicsConfig config;
  RocketPhysics physics(config);
  physics.Reset({40, 40, 0, 0, 0, 0});
  // Fixed point of v = (v - h g) / (1 + h c) is v = -g / c = -6.54 m/s; after n
  // steps from rest v_n = -(g / c) * (1 - (1 + h c)^-n).
  const double terminal = -9.81 / 1.5;
  for (int n = 1; n <= 300; ++n) {
    physics.Step(0, 0, 0);
    const double expected = terminal * (1 - std::pow(1 + kH * 1.5, -n));
    ASSERT_NEAR(physics.State().vy, expected, 2e-4) << "step " << n;
  }
  EXPECT_NEAR(physics.State().vy, terminal, 0.01);  // 5 s: within 0.1% of terminal
  EXPECT_FALSE(physics.touchdown().has_value());
  EXPECT_FLOAT_EQ(physics.State().vx, 0.0f);
}

TEST(RocketPhysics, FullUprightThrustAcceleratesUpAt15MinusG) {
  RocketPhysics physics(RocketPhysicsConfig{});
  physics.Reset({40, 20, 0, 0, 0, 0});
  physics.Step(1.0f, 0.0f, 0.0f);
  // (15 N / 1 kg - 9.81) * h, damped once.
  const double expected_vy = kH * (15.0 - 9.81) / (1 + kH * 1.5);
  EXPECT_NEAR(physics.State().vy, expected_vy, 1e-6);
  EXPECT_NEAR(physics.State().vy / kH, 5.063, 1e-3);  // initial acceleration, m/s^2
  EXPECT_FLOAT_EQ(physics.State().vx, 0.0f);
  EXPECT_FLOAT_EQ(physics.State().omega, 0.0f);
}

TEST(RocketPhysics, PositiveGimbalTurnsCounterClockwiseAndPushesPlusX) {
  RocketPhysics physics(RocketPhysicsConfig{});
  physics.Reset({40, 20, 0, 0, 0, 0});
  physics.Step(1.0f, 1.0f, 0.0f);
  // torque = 15 N * sin(15 deg) * 1 m; I = m (w^2 + h^2) / 12 = 20/12 kg m^2.
  const double torque = 15.0 * std::sin(15.0 * kPi / 180.0);
  const double inertia = 20.0 / 12.0;
  EXPECT_NEAR(physics.State().omega, kH * torque / inertia / (1 + kH * 2.0), 1e-6);
  EXPECT_NEAR(physics.State().vx, kH * torque / (1 + kH * 1.5), 1e-6);  // lateral 15 sin 15 N
  // Keeps turning the same way: theta grows.
  for (int i = 0; i < 30; ++i) physics.Step(1.0f, 1.0f, 0.0f);
  EXPECT_GT(physics.State().theta, 0.1f);

  physics.Reset({40, 20, 0, 0, 0, 0});
  physics.Step(1.0f, -1.0f, 0.0f);
  EXPECT_NEAR(physics.State().omega, -kH * torque / inertia / (1 + kH * 2.0), 1e-6);
}

TEST(RocketPhysics, WindPushesSideways) {
  RocketPhysics physics(RocketPhysicsConfig{});
  physics.Reset({40, 20, 0, 0, 0, 0});
  physics.Step(0.0f, 0.0f, 2.0f);
  EXPECT_NEAR(physics.State().vx, kH * 2.0 / (1 + kH * 1.5), 1e-6);
  EXPECT_FLOAT_EQ(physics.State().omega, 0.0f);
}

TEST(RocketPhysics, TouchdownRecordsImpactVelocity) {
  RocketPhysics physics(RocketPhysicsConfig{});
  physics.Reset({40, 2.5f, 0, 0, -2.0f, 0});
  for (int i = 0; i < 60 && !physics.touchdown(); ++i) physics.Step(0, 0, 0);
  ASSERT_TRUE(physics.touchdown().has_value());
  // Falling faster than it started: the recorded speed is before the ground stops it.
  EXPECT_LT(physics.touchdown()->vy, -2.0f);
  EXPECT_NEAR(physics.touchdown()->y, 2.0f, 0.2f);
  physics.Reset({40, 20, 0, 0, 0, 0});
  EXPECT_FALSE(physics.touchdown().has_value());
}

TEST(RocketPhysics, OutOfBoundsOnEachSide) {
  RocketPhysics physics(RocketPhysicsConfig{});
  physics.Reset({-0.1f, 20, 0, 0, 0, 0});
  EXPECT_TRUE(physics.OutOfBounds());
  physics.Reset({80.1f, 20, 0, 0, 0, 0});
  EXPECT_TRUE(physics.OutOfBounds());
  physics.Reset({40, 45.1f, 0, 0, 0, 0});
  EXPECT_TRUE(physics.OutOfBounds());
  physics.Reset({0.1f, 44.9f, 0, 0, 0, 0});
  EXPECT_FALSE(physics.OutOfBounds());
}

}  // namespace
}  // namespace hoverslam
