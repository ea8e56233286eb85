// Command-line flags that also read HOVERSLAM_<FLAG> environment variables, so a
// Kubernetes manifest configures a binary without a wrapper script.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

#include "common/curve.h"
#include "common/rocket_config.h"
#include "common/zmq_sockets.h"

namespace hoverslam {

// "--num-envs" -> "HOVERSLAM_NUM_ENVS".
std::string EnvVarName(const std::string& flag);

// Adds `--name` bound to `*value`, with its environment variable and default shown in --help.
template <typename T>
CLI::Option* AddFlag(CLI::App& app, const std::string& name, T* value, const std::string& help) {
  return app.add_option(name, *value, help)->envname(EnvVarName(name))->capture_default_str();
}

// --env-* flags for the task parameters users most often change.
void AddRocketFlags(CLI::App& app, RocketConfig* config);

// With an --env other than the rocket, the error for the first rocket flag given (--env-* or
// --curriculum-*, on the command line or through its environment variable), which that env
// would ignore; else "".
std::string RocketFlagConflict(const CLI::App& app, const std::string& env);

// --zmq-* flags for socket tuning, heartbeats included.
void AddZmqFlags(CLI::App& app, ZmqConfig* config);

// --curve-server-key-file and --curve-secret-key-file of a connecting process.
void AddCurveClientFlags(CLI::App& app, CurveClientFiles* files);

// --metrics-bind: the address /metrics and /healthz listen on (* = every interface).
void AddMetricsBindFlag(CLI::App& app, std::string* bind);

// --health-timeout: seconds without main-loop progress before /healthz answers 503.
void AddHealthFlag(CLI::App& app, double* timeout_s);

// Parses argv; on --help or a bad flag prints CLI11's message (naming the flag) and
// returns the exit code to use, else -1. Also handles --list-env, which prints every
// HOVERSLAM_* variable the binary reads, one a line (manifest checks use it), and
// returns 0.
int ParseFlags(CLI::App& app, int argc, char** argv);

// After ParseFlags: gives each {flag, value} of `defaults` to its option where neither the
// command line nor the flag's HOVERSLAM_<FLAG> variable set it. Returns those applied, as
// "--flag value". Throws std::invalid_argument for an unknown flag or a value it refuses.
std::vector<std::string> ApplyFlagDefaults(
    CLI::App& app, const std::vector<std::pair<std::string, std::string>>& defaults);

}  // namespace hoverslam
