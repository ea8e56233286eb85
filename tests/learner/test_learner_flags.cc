// hoverslam-learner's real flags with every registered env's learner_defaults: each default
// names a real flag with a value it takes, and the result is a valid config.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/env_registry.h"
#include "learner/learner_flags.h"

namespace hoverslam::learner {
namespace {

std::vector<std::string> Finish(LearnerFlags* flags, std::vector<std::string> args) {
  CLI::App app;
  AddLearnerFlags(app, flags);
  args.insert(args.begin(), "hoverslam-learner");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return FinishLearnerFlags(app, flags);
}

TEST(LearnerFlags, EveryEnvsDefaultsAreRealFlagsAndMakeAValidConfig) {
  for (const EnvEntry& e : EnvRegistry()) {
    SCOPED_TRACE(e.name);
    LearnerFlags flags;
    const std::vector<std::string> applied = Finish(&flags, {"--env", e.name});
    EXPECT_EQ(applied.size(), e.learner_defaults.size());
    EXPECT_NO_THROW(flags.config.Validate());
  }
}

TEST(LearnerFlags, LunarLanderGetsItsSettingsExceptThoseGiven) {
  LearnerFlags flags;
  const std::vector<std::string> applied =
      Finish(&flags, {"--env", "lunar_lander_continuous", "--epochs", "7"});
  const PpoConfig& p = flags.config.ppo;
  EXPECT_EQ(p.minibatches, 256);
  EXPECT_EQ(p.epochs, 7);  // given
  EXPECT_FALSE(p.adaptive_lr);
  EXPECT_TRUE(p.lr_anneal);
  EXPECT_DOUBLE_EQ(p.lr, 3e-4);
  EXPECT_FLOAT_EQ(p.gamma, 0.999f);
  EXPECT_FLOAT_EQ(p.entropy_coef, 0.01f);
  EXPECT_EQ(std::count(applied.begin(), applied.end(), "--epochs 4"), 0);
  EXPECT_EQ(std::count(applied.begin(), applied.end(), "--minibatches 256"), 1);
}

// The env's --lr-anneal applies to a fixed lr: a user who turns the adaptive lr back on gets a
// learner that starts (and warns that the anneal does nothing), not one refused for a flag
// they never gave.
TEST(LearnerFlags, AdaptiveLrGivenOverLunarLandersSettingsStillStarts) {
  LearnerFlags flags;
  Finish(&flags, {"--env", "lunar_lander_continuous", "--adaptive-lr", "true"});
  EXPECT_TRUE(flags.config.ppo.adaptive_lr);
  EXPECT_NO_THROW(flags.config.Validate());
}

TEST(LearnerFlags, TheRocketKeepsTheLearnersOwnDefaults) {
  LearnerFlags flags;
  EXPECT_TRUE(Finish(&flags, {}).empty());
  EXPECT_EQ(flags.config.env, kDefaultEnvName);
  EXPECT_EQ(flags.config.ppo.minibatches, PpoConfig{}.minibatches);
  EXPECT_TRUE(flags.config.ppo.adaptive_lr);
  EXPECT_FALSE(flags.config.ppo.lr_anneal);
}

}  // namespace
}  // namespace hoverslam::learner
