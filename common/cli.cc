#include "common/cli.h"

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "common/build_info.h"
#include "common/env.h"

namespace hoverslam {

std::string EnvVarName(const std::string& flag) {
  std::string name = "HOVERSLAM_";
  for (char c : flag.substr(flag.find_first_not_of('-'))) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

void AddRocketFlags(CLI::App& app, RocketConfig* c) {
  AddFlag(app, "--env-max-episode-steps", &c->max_episode_steps, "time limit in steps (60 Hz)");
  AddFlag(app, "--env-spawn-x-range", &c->spawn.x_range, "spawn x = pad +- this, m");
  AddFlag(app, "--env-spawn-y-min", &c->spawn.y_min, "lowest spawn height, m");
  AddFlag(app, "--env-spawn-y-max", &c->spawn.y_max, "highest spawn height, m");
  AddFlag(app, "--env-spawn-theta-deg", &c->spawn.theta_deg, "spawn tilt = +- this, degrees");
  AddFlag(app, "--env-spawn-vx-range", &c->spawn.vx_range, "spawn vx = +- this, m/s");
  AddFlag(app, "--env-spawn-vy-min", &c->spawn.vy_min, "lowest spawn vy, m/s");
  AddFlag(app, "--env-spawn-vy-max", &c->spawn.vy_max, "highest spawn vy, m/s");
  AddFlag(app, "--env-wind-max", &c->spawn.wind_max, "per-episode lateral wind = +- this, N");
  AddFlag(app, "--env-landing-max-speed", &c->landing.max_vy,
          "largest vertical touchdown speed that counts as landed, m/s");
  RewardConfig* r = &c->reward;
  AddFlag(app, "--env-shaping-gamma", &r->shaping_gamma, "gamma of the potential-based shaping");
  AddFlag(app, "--env-fuel-cost", &r->fuel_cost, "reward per second of full thrust (a cost)");
  AddFlag(app, "--env-landed-reward", &r->landed_reward, "reward for a landing");
  AddFlag(app, "--env-crash-reward", &r->crash_reward, "reward for the softest crash");
  AddFlag(app, "--env-crash-severity-weight", &r->crash_severity_weight,
          "crash reward lost per unit of excess over the landing limits");
}

std::string RocketFlagConflict(const CLI::App& app, const std::string& env) {
  if (env == kDefaultEnvName) return "";
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      const bool rocket = name.rfind("env-", 0) == 0 || name.rfind("curriculum-", 0) == 0;
      if (rocket && option->count() > 0) {
        return "--" + name + " sets the rocket; --env " + env + " has no such setting";
      }
    }
  }
  return "";
}

void AddZmqFlags(CLI::App& app, ZmqConfig* c) {
  AddFlag(app, "--zmq-send-hwm", &c->send_hwm, "messages queued per peer before send blocks");
  AddFlag(app, "--zmq-recv-hwm", &c->recv_hwm, "messages queued on receive");
  AddFlag(app, "--zmq-max-message-bytes", &c->max_message_bytes,
          "largest inbound message ZeroMQ accepts");
  AddFlag(app, "--zmq-heartbeat-ivl", &c->heartbeat_ivl_ms,
          "ms between ZMTP heartbeats on every connection (0: none)");
  AddFlag(app, "--zmq-heartbeat-timeout", &c->heartbeat_timeout_ms,
          "ms: drop a connection whose peer is silent this long");
  AddFlag(app, "--zmq-heartbeat-ttl", &c->heartbeat_ttl_ms,
          "ms: the peer drops us after this long without traffic");
  AddFlag(app, "--zmq-refused-retry", &c->refused_retry_ms,
          "ms to the first retry after the peer refused the handshake");
  AddFlag(app, "--zmq-refused-retry-max", &c->refused_retry_max_ms,
          "ms: that retry's back-off doubles up to this");
}

void AddCurveClientFlags(CLI::App& app, CurveClientFiles* files) {
  AddFlag(app, "--curve-server-key-file", &files->server_key_file,
          "the learner's CURVE public key (Z85); with --curve-secret-key-file turns CURVE on");
  AddFlag(app, "--curve-secret-key-file", &files->secret_key_file,
          "this process's CURVE secret key (Z85, mode 0600); its public key is derived");
}

void AddMetricsBindFlag(CLI::App& app, std::string* bind) {
  AddFlag(app, "--metrics-bind", bind,
          "address /metrics and /healthz listen on: * (every interface, as a pod needs), or "
          "one address such as 127.0.0.1");
}

void AddHealthFlag(CLI::App& app, double* timeout_s) {
  AddFlag(app, "--health-timeout", timeout_s,
          "seconds without main-loop progress before /healthz answers 503")
      ->check(CLI::PositiveNumber);
}

int ParseFlags(CLI::App& app, int argc, char** argv) {
  bool list_env = false;
  app.add_flag("--list-env", list_env, "print every HOVERSLAM_* variable read, then exit");
  const BuildInfo build = ThisBuild();
  const std::string binary = argc > 0 ? std::string(argv[0]) : "hoverslam";
  app.set_version_flag("--version", binary.substr(binary.rfind('/') + 1) + " " + build.version +
                                        " (commit " + build.commit + ", wire protocol " +
                                        std::to_string(build.protocol) + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!list_env) return -1;
  for (const CLI::Option* option : app.get_options()) {
    if (!option->get_envname().empty()) std::printf("%s\n", option->get_envname().c_str());
  }
  return 0;
}

std::vector<std::string> ApplyFlagDefaults(
    CLI::App& app, const std::vector<std::pair<std::string, std::string>>& defaults) {
  std::vector<std::string> applied;
  for (const auto& [flag, value] : defaults) {
    CLI::Option* option = nullptr;
    try {
      option = app.get_option(flag);
    } catch (const CLI::OptionNotFound&) {
      throw std::invalid_argument("no flag " + flag + " to give the default " + value);
    }
    if (option->count() > 0) continue;  // the user's value wins
    try {
      option->add_result(value);
      option->run_callback();
    } catch (const CLI::Error& e) {
      throw std::invalid_argument(flag + " " + value + ": " + e.what());
    }
    applied.push_back(flag + " " + value);
  }
  return applied;
}

}  // namespace hoverslam
