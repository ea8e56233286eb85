// hoverslam-eval: plays a fixed, seeded set of episodes with an exported policy, the
// scripted heuristic or random actions; prints a table and, last, one JSON line. With
// --watch it is the evaluator service: it follows the learner's weights instead.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "common/build_info.h"
#include "common/cli.h"
#include "eval/evaluate.h"
#include "eval/render_gif.h"
#include "eval/watch.h"

namespace {

using namespace hoverslam;
using namespace hoverslam::eval;

struct Flags {
  std::string policy;
  bool heuristic = false;
  bool random = false;
  std::string render;
  int render_episodes = 3;
  bool watch = false;                                // the evaluator service instead of one run
  int metrics_port = 9102;                           // --watch: /metrics and /healthz
  std::string metrics_bind = kAllInterfaces;         // --watch: address of the metrics port
  double health_timeout_s = kDefaultHealthTimeoutS;  // --watch: /healthz fails after this long
};

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

int RunWatch(const Flags& flags, const WatchConfig& watch, const EvalConfig& config) {
  if (!flags.policy.empty() || flags.heuristic || flags.random || !flags.render.empty()) {
    throw std::invalid_argument(
        "--watch evaluates the learner's policies: drop --policy, --heuristic, --random and "
        "--render");
  }
  if (flags.metrics_port < 0 || flags.metrics_port > 65535) {
    throw std::invalid_argument("--metrics-port must be in 0..65535");
  }
  if (std::string why; !PolicyCpuSupported(&why)) throw std::runtime_error(why);
  watch.Validate();
  config.Validate();
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  MetricsServer metrics(flags.metrics_port, flags.health_timeout_s, flags.metrics_bind);
  RegisterBuildInfo(metrics, "evaluator");
  Watch(watch, config, metrics, g_stop);
  return 0;
}

// Exactly one controller, or std::invalid_argument naming the flags.
ControllerKind ChooseController(const Flags& f) {
  std::vector<std::string> chosen;
  if (!f.policy.empty()) chosen.push_back("--policy");
  if (f.heuristic) chosen.push_back("--heuristic");
  if (f.random) chosen.push_back("--random");
  if (chosen.size() != 1) {
    std::string got = chosen.empty() ? "none" : chosen[0];
    for (size_t i = 1; i < chosen.size(); ++i) got += " and " + chosen[i];
    throw std::invalid_argument(
        "choose exactly one controller: --policy FILE, --heuristic or --random (got " + got + ")");
  }
  if (!f.policy.empty()) return ControllerKind::kPolicy;
  return f.heuristic ? ControllerKind::kHeuristic : ControllerKind::kRandom;
}

void PrintTable(const EvalSummary& s, const std::string& controller, const EvalConfig& config,
                double seconds) {
  const EnvSpec spec = config.spec();
  std::printf("controller             %s\n", controller.c_str());
  std::printf("episodes               %d of %s (seed %llu)\n", s.episodes, spec.name.c_str(),
              static_cast<unsigned long long>(config.seed));
  for (size_t k = 0; k < std::size(kEndedOutcomes); ++k) {
    const Outcome o = kEndedOutcomes[k];
    std::printf("  %-20s %6d  %6.1f%%   %s\n", std::string(OutcomeName(o)).c_str(), s.count(o),
                100.0 * s.rate(o), spec.outcome_meanings[k].c_str());
  }
  std::printf("mean return            %.2f (std %.2f)\n", s.mean_return, s.std_return);
  if (s.touchdowns > 0) {  // the rocket's impact statistics; other envs record none
    std::printf("mean touchdown speed   %.3f m/s (%d touchdowns)\n", s.mean_touchdown_speed,
                s.touchdowns);
    std::printf("mean touchdown tilt    %.2f deg\n", s.mean_touchdown_tilt_deg);
  }
  std::printf("mean length            %.1f steps (%.2f s)\n", s.mean_length,
              s.mean_length * spec.step_seconds);
  std::printf("time taken             %.2f s (%.0f env steps/s)\n", seconds,
              seconds > 0 ? s.mean_length * s.episodes / seconds : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr: stdout carries the table and the JSON line.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));

  EvalConfig config;
  Flags flags;
  WatchConfig watch;
  CLI::App app{
      "hoverslam-eval: plays --episodes episodes of --env (episode i seeded from (--seed, i)) with "
      "a policy file, the heuristic or random actions, and prints a summary; the last line of "
      "stdout is one JSON object. With --watch it is the evaluator service instead. Every flag "
      "also reads HOVERSLAM_<FLAG>."};
  AddFlag(app, "--policy", &flags.policy, "exported policy (policy.msgpack, wire v1 weights)");
  app.add_flag("--heuristic", flags.heuristic, "use the scripted heuristic lander")
      ->envname(EnvVarName("--heuristic"));
  app.add_flag("--random", flags.random,
               "use uniform random actions within the env's action bounds")
      ->envname(EnvVarName("--random"));
  AddFlag(app, "--episodes", &config.episodes, "episodes to play");
  AddFlag(app, "--seed", &config.seed, "episode i starts from EnvSeed(seed, i)");
  app.add_flag("--deterministic,!--stochastic", config.deterministic,
               "policy acts with its mean; --deterministic=false or --stochastic samples")
      ->envname(EnvVarName("--deterministic"))
      ->capture_default_str();
  AddFlag(app, "--render", &flags.render, "write the first --render-episodes episodes to this GIF");
  AddFlag(app, "--render-episodes", &flags.render_episodes, "episodes drawn into --render");
  AddFlag(app, "--env", &config.env_name, "the task: " + EnvNames());
  AddRocketFlags(app, &config.env);
  app.add_flag("--watch", flags.watch,
               "evaluator service: evaluate the learner's newest policy every --every-s, keep the "
               "best in --best-dir, serve metrics on --metrics-port")
      ->envname(EnvVarName("--watch"));
  AddFlag(app, "--learner", &watch.learner, "--watch: learner host name or IP");
  AddFlag(app, "--weights-port", &watch.weights_port, "--watch: learner's weights (PUB) port");
  AddFlag(app, "--every-s", &watch.every_s, "--watch: seconds between evaluations");
  AddFlag(app, "--best-dir", &watch.best_dir,
          "--watch: directory of best.msgpack, best.json and evals.jsonl");
  AddFlag(app, "--metrics-port", &flags.metrics_port,
          "--watch: Prometheus /metrics and /healthz port (0: off)");
  AddMetricsBindFlag(app, &flags.metrics_bind);
  AddHealthFlag(app, &flags.health_timeout_s);
  AddZmqFlags(app, &watch.zmq);
  AddCurveClientFlags(app, &watch.curve);
  if (int code = ParseFlags(app, argc, argv); code >= 0) return code == 0 ? 0 : 2;
  if (const std::string why = RocketFlagConflict(app, config.env_name); !why.empty()) {
    spdlog::error("{}", why);
    return 2;
  }

  if (flags.watch) {
    try {
      return RunWatch(flags, watch, config);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 2;
    }
  }
  try {
    const ControllerKind kind = ChooseController(flags);
    if (!flags.render.empty() && flags.render_episodes < 1) {
      throw std::invalid_argument("--render-episodes must be >= 1 with --render, got " +
                                  std::to_string(flags.render_episodes));
    }
    if (!flags.render.empty()) config.record_episodes = flags.render_episodes;
    config.Validate();

    std::optional<Policy> policy;
    std::string controller(ControllerName(kind));
    if (kind == ControllerKind::kPolicy) {
      if (std::string why; !PolicyCpuSupported(&why)) throw std::runtime_error(why);
      policy = LoadPolicyFile(flags.policy, config.spec());
      controller += " " + flags.policy + " (version " + std::to_string(policy->version()) +
                    (config.deterministic ? ", deterministic)" : ", stochastic)");
    }

    const auto t0 = std::chrono::steady_clock::now();
    const EvalResult result = Evaluate(config, kind, policy ? &*policy : nullptr);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (!flags.render.empty()) {
      const auto r0 = std::chrono::steady_clock::now();
      RenderEnvGif(config.env_name, config.options(), result.traces, flags.render);
      spdlog::info("wrote {} ({} episodes, {} bytes) in {:.2f} s", flags.render,
                   result.traces.size(), std::filesystem::file_size(flags.render),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count());
    }

    const EvalSummary summary = Summarize(result.episodes);
    PrintTable(summary, controller, config, seconds);
    std::optional<uint64_t> version;
    if (policy) version = policy->version();
    std::printf("%s\n", SummaryJson(summary, config.env_name, kind, version, config.seed).c_str());
    std::fflush(stdout);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  return 0;
}
