#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "common/mirror.h"
#include "common/rng.h"
#include "common/rocket_env.h"
#include "common/rocket_mirror.h"

namespace hoverslam {
namespace {

TEST(AffineMap, AppliesSignPermutationAndOffset) {
  const AffineMap map{{2, 0, 1}, {1, -1, 2}, {0, 10, -1}};
  ASSERT_EQ(map.Problem(), "");
  const float in[3] = {1, 2, 3};
  float out[3];
  map.Apply(in, out);
  EXPECT_FLOAT_EQ(out[0], 3);        // in[2]
  EXPECT_FLOAT_EQ(out[1], -1 + 10);  // -in[0] + 10
  EXPECT_FLOAT_EQ(out[2], 2 * 2 - 1);
}

TEST(AffineMap, NamesWhatIsWrong) {
  EXPECT_NE(AffineMap({{0, 0}, {1, 1}, {0, 0}}).Problem().find("permutation"), std::string::npos);
  EXPECT_NE(AffineMap({{0, 1}, {1}, {0, 0}}).Problem().find("length"), std::string::npos);
}

// The rocket's mirror is a symmetry of the task: from mirrored states, under mirrored actions,
// the episode is the mirror image of the original, with the same rewards and outcome. This is
// what lets the learner train on mirrored samples as if an actor had collected them.
TEST(RocketMirror, MirroredEpisodeIsTheMirrorImageWithTheSameRewards) {
  const RocketConfig config;
  const MirrorSpec mirror = RocketMirror(config.physics);
  ASSERT_EQ(mirror.obs.size(), kObsDim);
  ASSERT_EQ(mirror.act.size(), kActDim);
  RocketEnv env(config, 1), image(config, 1);
  const RocketState start{31.5f, 25, 0.2f, 1.5f, -1.0f, 0.05f};
  // The mirrored start state, written as the mirror maps it.
  const RocketState mirrored{80 - 31.5f, 25, -0.2f, -1.5f, -1.0f, -0.05f};
  float obs[kObsDim], obs_image[kObsDim], expect[kObsDim];
  env.ResetTo(start, obs);
  image.ResetTo(mirrored, obs_image);
  Rng rng(7);
  int steps = 0;
  for (bool done = false; !done; ++steps) {
    mirror.obs.Apply(obs, expect);
    for (int i = 0; i < kObsDim; ++i) {
      ASSERT_NEAR(obs_image[i], expect[i], 1e-3f) << "obs " << i << " at step " << steps;
    }
    const float action[kActDim] = {rng.Uniform(-0.2f, 1), rng.Uniform(-1, 1)};
    float action_image[kActDim];
    mirror.act.Apply(action, action_image);
    const StepResult a = env.Step(action, obs);
    const StepResult b = image.Step(action_image, obs_image);
    ASSERT_NEAR(a.reward, b.reward, 1e-3f) << "step " << steps;
    ASSERT_EQ(a.outcome, b.outcome) << "step " << steps;
    done = a.terminated || a.truncated;
  }
  EXPECT_GT(steps, 30);
}

TEST(RocketMirror, RefusesAWorldThatIsNotSymmetricAboutThePad) {
  RocketPhysicsConfig physics;
  physics.pad_x = 30;
  EXPECT_THROW(RocketMirror(physics), std::invalid_argument);
}

}  // namespace
}  // namespace hoverslam
