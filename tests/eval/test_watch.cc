// The evaluator service: the best-policy store on its own, then the real
// `hoverslam-eval --watch` against this test publishing weights over ZeroMQ.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/protocol.h"
#include "common/zmq_sockets.h"
#include "eval/evaluate.h"
#include "eval/watch.h"
#include "tests/eval/eval_test_util.h"
#include "tests/support/process.h"

namespace hoverslam::eval {
namespace {

namespace fs = std::filesystem;
using testing::Build;
using testing::ConstantPolicy;
using testing::RandomMlp;
using testing::TempDir;

std::vector<char> Bytes(wire::Weights w, const std::string& run) {
  w.run = run;
  std::vector<char> bytes;
  wire::Encode(w, &bytes);
  return bytes;
}

std::vector<char> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

EvalConfig SmallEval() {
  EvalConfig c;
  c.episodes = 12;
  c.seed = 77;
  return c;
}

EvalSummary Expected(const wire::Weights& w, const EvalConfig& c) {
  Policy p = Build(w);
  return Summarize(Evaluate(c, ControllerKind::kPolicy, &p).episodes);
}

EvalRecord Record(const std::string& run, uint64_t version, double success, double ret) {
  EvalRecord r;
  r.run = run;
  r.policy_version = version;
  r.summary.episodes = 10;
  r.summary.counts[0] = static_cast<int>(success * 10);  // landed
  r.summary.counts[1] = 10 - r.summary.counts[0];        // crashed
  r.summary.mean_return = ret;
  return r;
}

TEST(Better, SuccessFirstThenReturn) {
  EXPECT_TRUE(Better(Record("r", 1, 0.5, -50).summary, Record("r", 2, 0.4, 90).summary));
  EXPECT_FALSE(Better(Record("r", 1, 0.4, 90).summary, Record("r", 2, 0.5, -50).summary));
  EXPECT_TRUE(Better(Record("r", 1, 0.0, -10).summary, Record("r", 2, 0.0, -20).summary));
  EXPECT_FALSE(Better(Record("r", 1, 0.0, -20).summary, Record("r", 2, 0.0, -20).summary));
}

TEST(BestPolicyStore, KeepsTheBestOfTheRunAndLogsEveryEvaluation) {
  TempDir dir;
  BestPolicyStore store(dir / "best", 77);
  const std::vector<char> a = {'a'}, b = {'b', 'b'}, c = {'c', 'c', 'c'};

  EvalRecord first = Record("run-1", 1, 0.5, 10);
  store.Offer(&first, a);
  EXPECT_TRUE(first.best);
  EvalRecord worse = Record("run-1", 2, 0.4, 99);
  store.Offer(&worse, b);
  EXPECT_FALSE(worse.best);
  EXPECT_EQ(ReadBytes(dir / "best/best.msgpack"), a);
  ASSERT_TRUE(store.best());
  EXPECT_EQ(store.best()->policy_version, 1u);

  // A new training run starts afresh, even below the old run's best.
  EvalRecord new_run = Record("run-2", 1, 0.1, -5);
  store.Offer(&new_run, c);
  EXPECT_TRUE(new_run.best);
  EXPECT_EQ(ReadBytes(dir / "best/best.msgpack"), c);

  const std::vector<std::string> lines = Lines(dir / "best/evals.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find("\"policy_version\":2,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"run\":\"run-1\""), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"best\":false}"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\"seed\":77,"), std::string::npos) << lines[2];
  const std::vector<std::string> best_json = Lines(dir / "best/best.json");
  ASSERT_EQ(best_json.size(), 1u);
  EXPECT_EQ(best_json[0], lines[2]);
}

TEST(BestPolicyStore, AFailedWriteKeepsThePreviousBestWhole) {
  TempDir dir;
  BestPolicyStore store(dir.path(), 1);
  EvalRecord first = Record("run", 1, 0.2, 0);
  store.Offer(&first, {'o', 'l', 'd'});
  fs::create_directory(dir / "best.msgpack.tmp");  // the temp file cannot be created
  EvalRecord better = Record("run", 2, 0.9, 0);
  EXPECT_THROW(store.Offer(&better, {'n', 'e', 'w'}), std::runtime_error);
  EXPECT_EQ(ReadBytes(dir / "best.msgpack"), (std::vector<char>{'o', 'l', 'd'}));
  EXPECT_EQ(store.best()->policy_version, 1u);
  // The evaluation itself is still logged, as not the best.
  const std::vector<std::string> lines = Lines(dir / "evals.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("\"policy_version\":2,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"best\":false}"), std::string::npos) << lines[1];
  // Once the disk is writable again the next better policy gets through.
  fs::remove(dir / "best.msgpack.tmp");
  store.Offer(&better, {'n', 'e', 'w'});
  EXPECT_EQ(ReadBytes(dir / "best.msgpack"), (std::vector<char>{'n', 'e', 'w'}));
}

TEST(BestPolicyStore, ReEvaluatesTheBestItFindsOnDisk) {
  TempDir dir;
  const EvalConfig config = SmallEval();
  const wire::Weights w = RandomMlp(5);
  testing::WriteFile(dir / "best.msgpack", Bytes(w, "run-x"));
  BestPolicyStore store(dir.path(), config.seed);
  const std::optional<EvalRecord> loaded = store.LoadExisting(config);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->run, "run-x");
  EXPECT_EQ(loaded->policy_version, w.policy_version);
  const EvalSummary expected = Expected(w, config);
  EXPECT_EQ(loaded->summary.counts, expected.counts);
  EXPECT_EQ(loaded->summary.mean_return, expected.mean_return);

  testing::WriteFile(dir / "best.msgpack", {'\x81', 'x'});  // not a policy: ignored
  BestPolicyStore broken(dir.path(), config.seed);
  EXPECT_FALSE(broken.LoadExisting(config));
  EXPECT_THROW(BestPolicyStore(dir / "best.msgpack/sub", 1), std::runtime_error);
}

// ---------------------------------------------------------------------------------
// The real binary.

double MetricValue(int port, const std::string& series) {
  const std::string text = hoverslam::testing::HttpGet(port, "/metrics").value_or("");
  const std::string line = "\n" + series + " ";
  const size_t at = text.find(line);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + line.size()));
}

class WatchBinary : public ::testing::Test {
 protected:
  hoverslam::testing::Child Start(const std::string& best_dir, const std::string& log) {
    return hoverslam::testing::Child(
        {HOVERSLAM_EVAL_BIN, "--watch", "--learner", "127.0.0.1", "--weights-port",
         std::to_string(weights_port_), "--metrics-port", std::to_string(metrics_port_),
         "--every-s", "0.2", "--best-dir", best_dir, "--episodes", "12", "--seed", "77",
         "--health-timeout", "0.3"},
        log);
  }
  // Publishes `bytes` until the evaluator reports `version`.
  bool PublishUntilEvaluated(const std::vector<char>& bytes, uint64_t version) {
    return hoverslam::testing::PollUntil(20, [&] {
      pub_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
      return MetricValue(metrics_port_, "hoverslam_eval_policy_version") ==
             static_cast<double>(version);
    });
  }

  int weights_port_ = hoverslam::testing::FreePort();
  int metrics_port_ = hoverslam::testing::FreePort();
  zmq::context_t ctx_{1};
  zmq::socket_t pub_ = MakeWeightsPub(ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{});
  TempDir dir_;
};

TEST_F(WatchBinary, EvaluatesEachNewPolicyKeepsTheBestAndResumesIt) {
  const EvalConfig config = SmallEval();
  // Three policies, worked out here on the same episodes and published best-in-the-middle,
  // so neither "the first wins" nor "the newest wins" passes.
  std::vector<wire::Weights> versioned = {ConstantPolicy(-1, 0), RandomMlp(11),
                                          ConstantPolicy(0.2f, 0)};
  std::vector<EvalSummary> expected;
  for (const wire::Weights& w : versioned) expected.push_back(Expected(w, config));
  size_t top = 0;
  for (size_t i = 1; i < versioned.size(); ++i) top = Better(expected[i], expected[top]) ? i : top;
  std::swap(versioned[top], versioned[1]);
  std::swap(expected[top], expected[1]);
  const size_t best = 1;
  ASSERT_TRUE(Better(expected[1], expected[0]) && Better(expected[1], expected[2]))
      << "the three policies must not tie";
  for (size_t i = 0; i < versioned.size(); ++i) versioned[i].policy_version = i + 1;

  const std::string log = dir_ / "watch.log", best_dir = dir_ / "best";
  auto watch = Start(best_dir, log);
  // Waiting for a learner that has published nothing is healthy.
  ASSERT_TRUE(hoverslam::testing::PollUntil(
      5, [&] { return hoverslam::testing::HealthStatus(metrics_port_) != 0; }));
  EXPECT_TRUE(hoverslam::testing::StaysHealthy(metrics_port_, 1.0));

  for (size_t i = 0; i < versioned.size(); ++i) {
    ASSERT_TRUE(PublishUntilEvaluated(Bytes(versioned[i], "run-a"), i + 1)) << "see " << log;
    EXPECT_DOUBLE_EQ(MetricValue(metrics_port_, "hoverslam_eval_success_rate"),
                     expected[i].rate(Outcome::kLanded));
    EXPECT_NEAR(MetricValue(metrics_port_, "hoverslam_eval_mean_return"), expected[i].mean_return,
                1e-9 * (1 + std::abs(expected[i].mean_return)));
  }
  EXPECT_EQ(MetricValue(metrics_port_, "hoverslam_eval_best_policy_version"), best + 1);
  EXPECT_EQ(MetricValue(metrics_port_, "hoverslam_eval_evaluations_total"), 3);
  EXPECT_EQ(ReadBytes(best_dir + "/best.msgpack"), Bytes(versioned[best], "run-a"));
  EXPECT_EQ(Lines(best_dir + "/evals.jsonl").size(), 3u);

  // Garbage is counted, not fatal.
  const std::vector<char> garbage = {'\x93', 'n', 'o'};
  ASSERT_TRUE(hoverslam::testing::PollUntil(10, [&] {
    pub_.send(zmq::buffer(garbage), zmq::send_flags::dontwait);
    return MetricValue(metrics_port_,
                       "hoverslam_eval_weights_rejected_total{reason=\"malformed\"}") >= 1;
  }));
  watch.Signal(SIGTERM);
  EXPECT_EQ(watch.Wait(5), std::optional<int>(0)) << "see " << log;

  // A restarted evaluator knows its best before any weights arrive.
  auto again = Start(best_dir, log + ".2");
  EXPECT_TRUE(hoverslam::testing::PollUntil(
      10,
      [&] { return MetricValue(metrics_port_, "hoverslam_eval_best_policy_version") == best + 1; }))
      << "see " << log << ".2";
  EXPECT_DOUBLE_EQ(MetricValue(metrics_port_, "hoverslam_eval_best_success_rate"),
                   expected[best].rate(Outcome::kLanded));
  again.Signal(SIGTERM);
  EXPECT_EQ(again.Wait(5), std::optional<int>(0));
}

TEST_F(WatchBinary, BadFlagsExitTwoNamingTheFlag) {
  const auto refused = [&](std::vector<std::string> args, const std::string& says) {
    args.insert(args.begin(), {HOVERSLAM_EVAL_BIN, "--watch", "--metrics-port", "0"});
    const std::string log = dir_ / "refused.log";
    hoverslam::testing::Child child(args, log);
    EXPECT_EQ(child.Wait(10), std::optional<int>(2)) << args.back();
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(says), std::string::npos) << text;
  };
  refused({"--every-s", "1"}, "--best-dir");
  refused({"--best-dir", dir_.path(), "--policy", "x.msgpack"}, "drop --policy");
  refused({"--best-dir", dir_.path(), "--every-s", "0"}, "--every-s must be > 0");
}

}  // namespace
}  // namespace hoverslam::eval
