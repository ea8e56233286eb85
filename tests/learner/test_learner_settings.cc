// hoverslam-learner's settings as the running binary applies them: an env's own learner
// flags where the user set none, and the lr annealed over the step budget.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/learner/learner_process_util.h"

namespace hoverslam {
namespace {

using namespace testing;  // NOLINT: the learner's test harness (learner_process_util.h)

// --env brings the env's learner settings (the registry's learner_defaults), each only where
// neither the command line nor its HOVERSLAM_<FLAG> variable set it. StartLearner passes
// --epochs 2; HOVERSLAM_GAMMA comes from the environment.
TEST(LearnerIntegration, EnvSettingsApplyWhereTheUserSetNone) {
  for (const bool user_lr : {false, true}) {
    SCOPED_TRACE(user_lr ? "--lr 1e-3 given" : "--lr not given");
    const Ports ports;
    const std::string dir = ::testing::TempDir() + "learner_env_defaults_" +
                            std::to_string(getpid()) + (user_lr ? "_lr" : "");
    std::filesystem::remove_all(dir);
    const std::string log = dir + ".log";
    std::vector<std::string> extra{"--checkpoint-every", "1000", "--env",
                                   "lunar_lander_continuous"};
    if (user_lr) extra.insert(extra.end(), {"--lr", "1e-3"});
    setenv("HOVERSLAM_GAMMA", "0.98", 1);
    auto learner = StartLearner(ports, dir, log, extra);
    unsetenv("HOVERSLAM_GAMMA");
    // "learner run ..." is logged last at start-up: by then the gauge and the warnings are set.
    ASSERT_TRUE(
        PollUntil(30, [&] { return ReadFile(log).find("learner run ") != std::string::npos; }))
        << "see " << log;
    const std::string m = Metrics(ports.metrics);
    // The env's lr is 3e-4 (fixed); the user's wins.
    EXPECT_DOUBLE_EQ(MetricValue(m, "hoverslam_learner_learning_rate"), user_lr ? 1e-3 : 3e-4);
    const std::string text = ReadFile(log);
    std::vector<std::string> applied{"sets --minibatches 256 ", "sets --adaptive-lr false ",
                                     "sets --lr-anneal true ", "sets --entropy-coef 0.01 "};
    if (!user_lr) applied.push_back("sets --lr 3e-4 ");  // the learner's own lr is 3e-4 too
    for (const std::string& a : applied) {
      EXPECT_NE(text.find(a), std::string::npos) << a << "\n" << text;
    }
    // No --max-env-steps here: nothing to anneal over, and the learner says so.
    EXPECT_NE(text.find("--lr-anneal: no --max-env-steps to anneal over"), std::string::npos);
    // Trailing spaces: "--lr " is not "--lr-anneal".
    for (const std::string kept : {"sets --epochs ", "sets --gamma ", "sets --lr "}) {
      if (kept == "sets --lr " && !user_lr) continue;
      EXPECT_EQ(text.find(kept), std::string::npos) << kept << "\n" << text;
    }
    learner->Signal(SIGTERM);
    EXPECT_EQ(learner->Wait(20), std::optional<int>(0));
  }
}

// --lr-anneal over a budget of 1,024 env steps in batches of 256: versions 1-4 train at lr
// 3e-4 x (1 - 0, 256, 512, 768 / 1024), and the learner stops at the budget.
TEST(LearnerIntegration, AnnealedLrFallsLinearlyOverTheStepBudget) {
  const Ports ports;
  const std::string dir = ::testing::TempDir() + "learner_anneal_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::string log = dir + ".log";
  auto learner = StartLearner(ports, dir, log,
                              {"--checkpoint-every", "1000", "--adaptive-lr", "false", "--lr",
                               "3e-4", "--lr-anneal", "true", "--max-env-steps", "1024"});
  FakeActors actors(ports);
  ASSERT_TRUE(actors.AwaitWeights(30)) << "see " << log;
  uint64_t seed = 1;
  TrainPast(actors, 3, &seed, 30);  // the learner may stop before the last weights arrive
  ASSERT_EQ(learner->Wait(30), std::optional<int>(0)) << "see " << log;
  const std::string text = ReadFile(log);
  const char* expected[] = {"3.00e-04", "2.25e-04", "1.50e-04", "7.50e-05"};
  for (int v = 1; v <= 4; ++v) {
    const std::regex line("version " + std::to_string(v) + " \\|[^\\n]*\\| lr ([0-9.e+-]+) \\|");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(text, m, line)) << "version " << v << "\n" << text;
    EXPECT_EQ(m[1].str(), expected[v - 1]) << "version " << v;
  }
  EXPECT_EQ(text.find("version 5 |"), std::string::npos) << "trained past the budget";
  EXPECT_NE(text.find("learner stopping (max_env_steps)"), std::string::npos) << text;
}

}  // namespace
}  // namespace hoverslam
