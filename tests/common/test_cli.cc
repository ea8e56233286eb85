// ApplyFlagDefaults: an env's learner settings fill in only what the user left unset.
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.h"

namespace hoverslam {
namespace {

struct Flags {
  int epochs = 10;
  double gamma = 0.998;
  bool adaptive = true;
  double lr = 3e-4;
};

// Parses `args` (argv[0] first) into an app with four flags, the way the binaries add them.
void Parse(CLI::App& app, Flags& f, std::vector<std::string> args) {
  AddFlag(app, "--epochs", &f.epochs, "");
  AddFlag(app, "--gamma", &f.gamma, "");
  AddFlag(app, "--adaptive-lr", &f.adaptive, "");
  AddFlag(app, "--lr", &f.lr, "");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

TEST(ApplyFlagDefaults, FillsOnlyWhatNeitherTheCommandLineNorTheEnvironmentSet) {
  CLI::App app;
  Flags f;
  setenv("HOVERSLAM_GAMMA", "0.97", 1);
  Parse(app, f, {"learner", "--epochs", "3"});
  unsetenv("HOVERSLAM_GAMMA");
  const std::vector<std::string> applied = ApplyFlagDefaults(
      app, {{"--epochs", "4"}, {"--gamma", "0.999"}, {"--adaptive-lr", "false"}, {"--lr", "1e-3"}});
  EXPECT_EQ(f.epochs, 3);           // the command line's
  EXPECT_DOUBLE_EQ(f.gamma, 0.97);  // the environment's
  EXPECT_FALSE(f.adaptive);         // the default's
  EXPECT_DOUBLE_EQ(f.lr, 1e-3);
  EXPECT_EQ(applied, (std::vector<std::string>{"--adaptive-lr false", "--lr 1e-3"}));
}

TEST(ApplyFlagDefaults, UnknownFlagOrBadValueIsNamed) {
  CLI::App app;
  Flags f;
  Parse(app, f, {"learner"});
  try {
    ApplyFlagDefaults(app, {{"--epoch", "4"}});
    FAIL() << "an unknown flag was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--epoch"), std::string::npos) << e.what();
  }
  try {
    ApplyFlagDefaults(app, {{"--epochs", "four"}});
    FAIL() << "a bad value was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--epochs four"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hoverslam
