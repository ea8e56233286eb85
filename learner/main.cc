// hoverslam-learner: PPO in LibTorch; trajectories in, weights out.
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <exception>

#include "common/cli.h"
#include "learner/learner.h"
#include "learner/learner_flags.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  using namespace hoverslam;
  using namespace hoverslam::learner;
  LearnerFlags flags;
  CLI::App app{
      "hoverslam-learner: trains a policy with PPO from actors' trajectories "
      "and publishes its weights. Every flag also reads HOVERSLAM_<FLAG>."};
  AddLearnerFlags(app, &flags);
  if (int code = ParseFlags(app, argc, argv); code >= 0) return code;

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  try {
    for (const std::string& d : FinishLearnerFlags(app, &flags)) {
      spdlog::info("--env {} sets {} (pass the flag to change it)", flags.config.env, d);
    }
    Learner learner(flags.config);
    learner.Run(g_stop);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  return 0;
}
