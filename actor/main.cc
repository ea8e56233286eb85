// hoverslam-actor: N rocket envs, an Eigen policy, trajectories out, weights in.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <exception>

#include "actor/actor.h"
#include "common/build_info.h"
#include "common/cli.h"
#include "common/env_registry.h"
#include "common/rng.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

std::string HostName() {
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 && name[0] ? name : "actor";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hoverslam;
  ActorConfig config;
  config.actor_id = HostName();
  CLI::App app{
      "hoverslam-actor: runs N rocket-landing envs with the learner's newest policy "
      "and streams trajectories to it. Every flag also reads HOVERSLAM_<FLAG>."};
  AddFlag(app, "--learner", &config.learner, "learner host name or IP");
  AddFlag(app, "--trajectory-port", &config.trajectory_port, "learner's trajectory (ROUTER) port");
  AddFlag(app, "--weights-port", &config.weights_port, "learner's weights (PUB) port");
  AddFlag(app, "--num-envs", &config.num_envs, "envs stepped together");
  AddFlag(app, "--steps-per-message", &config.steps_per_message, "steps T per trajectory");
  CLI::Option* seed_flag = AddFlag(
      app, "--seed", &config.seed,
      "seed; env i uses a stream derived from (seed, i) (default: derived from --actor-id)");
  AddFlag(app, "--actor-id", &config.actor_id, "stable actor id (default: host name)");
  AddFlag(app, "--metrics-port", &config.metrics_port,
          "Prometheus /metrics and /healthz port (0: off)");
  AddMetricsBindFlag(app, &config.metrics_bind);
  AddHealthFlag(app, &config.health_timeout_s);
  AddFlag(app, "--log-interval", &config.log_interval_s, "seconds between progress logs");
  AddFlag(app, "--max-messages", &config.max_messages, "stop after this many (0: never)");
  AddFlag(app, "--decorrelate", &config.decorrelate,
          "cut each env's first episode short at random, so envs do not run in step "
          "(true/false)");
  AddFlag(app, "--env", &config.env_name, "the task: " + EnvNames());
  AddRocketFlags(app, &config.env);
  AddFlag(app, "--curriculum-low-fraction", &config.env.spawn.low_fraction,
          "fraction of training episodes that start lower, in [low-y-min, env-spawn-y-min]");
  AddFlag(app, "--curriculum-low-y-min", &config.env.spawn.low_y_min,
          "lowest start height of the curriculum's low episodes, m");
  AddZmqFlags(app, &config.zmq);
  AddCurveClientFlags(app, &config.curve);
  if (int code = ParseFlags(app, argc, argv); code >= 0) return code;
  if (seed_flag->count() == 0) config.seed = SeedFromId(config.actor_id);
  if (const std::string why = RocketFlagConflict(app, config.env_name); !why.empty()) {
    spdlog::error("{}", why);
    return 2;
  }

  if (std::string why; !PolicyCpuSupported(&why)) {
    spdlog::error("{}", why);
    return 2;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  try {
    config.Validate();
    MetricsServer metrics(config.metrics_port, config.health_timeout_s, config.metrics_bind);
    RegisterBuildInfo(metrics, "actor");
    Actor actor(config, metrics);
    actor.Run(g_stop);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  return 0;
}
