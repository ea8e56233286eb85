// Runs the real hoverslam-eval binary: its JSON line, its GIF and its refusals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "eval/evaluate.h"
#include "eval/render_gif.h"
#include "tests/eval/eval_test_util.h"
#include "tests/eval/gif_reader.h"

extern char** environ;

namespace hoverslam::eval {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs hoverslam-eval with `args` (and `env` added to ours), stdout and stderr apart.
RunResult RunEval(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  testing::TempDir dir;
  const std::string out_path = dir / "stdout", err_path = dir / "stderr";
  std::vector<std::string> argv_s = {HOVERSLAM_EVAL_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s(env);
  for (char** e = environ; *e != nullptr; ++e) env_s.push_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  RunResult run;
  if (rc != 0) return run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  run.out = testing::ReadBytes(out_path);
  run.err = testing::ReadBytes(err_path);
  return run;
}

std::string LastLine(const std::string& text) {
  std::string s = text;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// A flat JSON object: keys in order, each with its raw value (strings unquoted).
// Returns false on anything else, so a malformed line fails the test.
bool ParseFlatJson(const std::string& s, std::vector<std::pair<std::string, std::string>>* kv) {
  size_t i = 0;
  const auto skip = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  const auto string = [&](std::string* out) {
    if (i >= s.size() || s[i] != '"') return false;
    const size_t end = s.find('"', i + 1);
    if (end == std::string::npos) return false;
    *out = s.substr(i + 1, end - i - 1);
    i = end + 1;
    return true;
  };
  skip();
  if (i >= s.size() || s[i++] != '{') return false;
  for (;;) {
    skip();
    std::string key, value;
    if (!string(&key)) return false;
    skip();
    if (i >= s.size() || s[i++] != ':') return false;
    skip();
    if (i < s.size() && s[i] == '"') {
      if (!string(&value)) return false;
    } else {
      const size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
                              s[i] == '-' || s[i] == '+')) {
        ++i;
      }
      value = s.substr(start, i - start);
      char* end = nullptr;
      std::strtod(value.c_str(), &end);
      if (value != "null" && (value.empty() || *end != '\0')) return false;
    }
    kv->emplace_back(key, value);
    skip();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') return s.find_first_not_of(" \n", i + 1) == std::string::npos;
    return false;
  }
}

std::string Value(const std::vector<std::pair<std::string, std::string>>& kv,
                  const std::string& key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return "(missing)";
}

TEST(EvalCli, PolicyRunPrintsTheContractAndRendersAGif) {
  testing::TempDir dir;
  const std::string policy = dir / "policy.msgpack", gif = dir / "out.gif";
  testing::WritePolicyFile(policy, testing::ConstantPolicy(-1, 0, 42));  // free fall
  const RunResult run = RunEval({"--policy", policy, "--render", gif, "--render-episodes", "2",
                                 "--episodes", "4", "--seed", "5"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  std::vector<std::pair<std::string, std::string>> kv;
  ASSERT_TRUE(ParseFlatJson(LastLine(run.out), &kv)) << LastLine(run.out);
  const std::vector<std::string> contract = {"eval",
                                             "episodes",
                                             "success_rate",
                                             "crash_rate",
                                             "out_of_bounds_rate",
                                             "timeout_rate",
                                             "mean_return",
                                             "mean_touchdown_speed",
                                             "mean_touchdown_tilt_deg",
                                             "mean_length",
                                             "policy_version",
                                             "controller",
                                             "seed",
                                             "std_return"};
  ASSERT_EQ(kv.size(), contract.size()) << LastLine(run.out);
  for (size_t i = 0; i < contract.size(); ++i) EXPECT_EQ(kv[i].first, contract[i]);
  EXPECT_EQ(Value(kv, "eval"), "rocket");
  EXPECT_EQ(Value(kv, "episodes"), "4");
  EXPECT_EQ(Value(kv, "success_rate"), "0");
  EXPECT_EQ(Value(kv, "crash_rate"), "1");
  EXPECT_EQ(Value(kv, "policy_version"), "42");
  EXPECT_EQ(Value(kv, "controller"), "policy");
  EXPECT_EQ(Value(kv, "seed"), "5");
  EXPECT_GT(std::stod(Value(kv, "mean_touchdown_speed")), 6.4);  // terminal speed 6.54 m/s

  // The binary plays exactly the library's episodes.
  Policy same = testing::Build(testing::ConstantPolicy(-1, 0, 42));
  EvalConfig config;
  config.episodes = 4;
  config.seed = 5;
  const EvalResult expected = Evaluate(config, ControllerKind::kPolicy, &same);
  const EvalSummary summary = Summarize(expected.episodes);
  EXPECT_EQ(LastLine(run.out), SummaryJson(summary, "rocket", ControllerKind::kPolicy, 42, 5));
  // Logs went to stderr, the table and the JSON line to stdout.
  EXPECT_EQ(run.out.find("[info]"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find(gif), std::string::npos) << run.err;

  const std::string bytes = testing::ReadBytes(gif);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "GIF89a");
  const testing::DecodedGif decoded = testing::ReadGif(gif);
  EXPECT_EQ(decoded.width, 640);
  EXPECT_EQ(decoded.height, 384);
  // Two episodes of 255-390 steps: a frame every 2 steps plus the last of each.
  const int frames = GifFrameCount(expected.episodes[0].length, GifOptions{}) +
                     GifFrameCount(expected.episodes[1].length, GifOptions{});
  EXPECT_EQ(static_cast<int>(decoded.frames.size()), frames);
  EXPECT_GT(frames, 250);
}

TEST(EvalCli, StochasticFlagsSampleAndEnvVarsSetFlags) {
  testing::TempDir dir;
  const std::string policy = dir / "policy.msgpack";
  testing::WritePolicyFile(policy, testing::ConstantPolicy(0.3f, 0, 1));  // sigma 1
  const std::vector<std::string> base = {"--policy", policy, "--episodes", "3"};
  const auto json = [&](std::vector<std::string> extra, std::vector<std::string> env = {}) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult run = RunEval(args, env);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return LastLine(run.out);
  };
  const std::string mean = json({});
  const std::string sampled = json({"--stochastic"});
  EXPECT_NE(mean, sampled);
  EXPECT_EQ(json({"--deterministic=false"}), sampled);
  EXPECT_EQ(json({}, {"HOVERSLAM_DETERMINISTIC=false"}), sampled);
  EXPECT_EQ(json({"--deterministic"}), mean);
  // HOVERSLAM_<FLAG> stands in for a flag.
  const RunResult heuristic =
      RunEval({"--heuristic"}, {"HOVERSLAM_EPISODES=2", "HOVERSLAM_SEED=9"});
  ASSERT_EQ(heuristic.exit_code, 0) << heuristic.err;
  std::vector<std::pair<std::string, std::string>> kv;
  ASSERT_TRUE(ParseFlatJson(LastLine(heuristic.out), &kv));
  EXPECT_EQ(Value(kv, "episodes"), "2");
  EXPECT_EQ(Value(kv, "seed"), "9");
  EXPECT_EQ(Value(kv, "policy_version"), "null");
  EXPECT_EQ(Value(kv, "controller"), "heuristic");
}

void ExpectRefused(const std::vector<std::string>& args, const std::string& says) {
  const RunResult run = RunEval(args);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find(says), std::string::npos) << "stderr: " << run.err;
  EXPECT_EQ(run.out, "");  // nothing a caller could mistake for a result
}

TEST(EvalCli, BadInputExitsTwoSayingWhy) {
  testing::TempDir dir;
  const std::string missing = dir / "missing.msgpack";
  ExpectRefused({"--policy", missing}, missing + ": No such file or directory");

  const std::string garbage = dir / "garbage.msgpack";
  testing::WriteFile(garbage, std::vector<char>(100, 'x'));
  ExpectRefused({"--policy", garbage}, garbage + ": not a wire v1 weights message");

  ExpectRefused({"--heuristic", "--random"}, "choose exactly one controller");
  ExpectRefused({"--heuristic", "--random"}, "--heuristic and --random");
  ExpectRefused({"--policy", garbage, "--heuristic"}, "--policy and --heuristic");
  ExpectRefused({}, "got none");
  ExpectRefused({"--heuristic", "--episodes", "0"}, "episodes must be >= 1");
  ExpectRefused({"--heuristic", "--episodes", "many"}, "--episodes");
  ExpectRefused({"--heuristic", "--render", dir / "no/such/dir/x.gif"}, "cannot write GIF");
  ExpectRefused({"--heuristic", "--render", dir / "x.gif", "--render-episodes", "0"},
                "--render-episodes must be >= 1");
}

}  // namespace
}  // namespace hoverslam::eval
