// The real hoverslam-learner binary against this test playing two actors over
// real ZeroMQ sockets on 127.0.0.1, with the credit flow of protocol v2 (ready, grant,
// trajectory): training advances, every kind of bad message is counted under its reason
// without stopping training, and SIGTERM leaves a checkpoint that a restarted learner
// continues from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "tests/learner/learner_process_util.h"

namespace hoverslam {
namespace {

using namespace testing;  // NOLINT: the learner's test harness (learner_process_util.h)

// An encoded message as a protocol v1 peer would write it: the encoder puts proto first, as a
// positive fixint.
std::vector<char> WithProto1(std::vector<char> bytes) {
  const std::string v2 = "\xa5proto\x02";
  const auto at = std::search(bytes.begin(), bytes.end(), v2.begin(), v2.end());
  EXPECT_NE(at, bytes.end()) << "no proto 2 key";
  if (at != bytes.end()) at[v2.size() - 1] = 1;
  return bytes;
}

TEST(LearnerIntegration, TrainsCountsRejectionsAndResumesFromCheckpoint) {
  const Ports ports;
  const std::string dir = ::testing::TempDir() + "learner_it_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::string log = dir + ".log";
  auto learner = StartLearner(ports, dir, log);
  FakeActors actors(ports);
  ASSERT_TRUE(actors.AwaitWeights(30)) << "no weights published; see " << log;
  const std::string run = actors.weights().run;
  EXPECT_EQ(actors.weights().policy_version, 0u);
  // Starved of data is healthy: /healthz stays 200 for 2.5 health timeouts.
  EXPECT_TRUE(testing::StaysHealthy(ports.metrics, 2.5));

  // Asked, the learner grants a rollout of its run at its current version.
  ASSERT_TRUE(actors.Granted(0, 10)) << "no grant; see " << log;
  EXPECT_EQ(actors.grant(0)->run, run);
  EXPECT_EQ(actors.grant(0)->env, "rocket");
  EXPECT_EQ(actors.grant(0)->policy_version, 0u);

  // Two actors feed on-policy data until version 3.
  uint64_t seed = 1;
  ASSERT_TRUE(TrainPast(actors, 2, &seed)) << "versions did not advance; see " << log;
  const uint64_t version = actors.weights().policy_version;
  EXPECT_GE(version, 3u);

  // One message for each kind of fault. Those the decoder finds are counted under their own
  // reason before any credit check, so a connection that never asked sends them.
  constexpr int kStranger = FakeActors::kStranger;
  wire::Trajectory other_run = actors.Valid(kStranger, 102);
  other_run.run = "someone-else";
  actors.Send(kStranger, other_run);
  wire::Trajectory nan = actors.Valid(kStranger, 103);
  nan.rewards[7] = std::nanf("");
  actors.Send(kStranger, nan);
  actors.SendBytes(kStranger, {'\x93', 'g', 'a', 'r', 'b', 'a', 'g', 'e'});
  // An actor of protocol v1 (no credit flow) is told to upgrade.
  std::vector<char> bytes;
  wire::Encode(actors.Valid(kStranger, 104), &bytes);
  actors.SendBytes(kStranger, WithProto1(bytes));
  // A ready for rollouts of no transitions.
  wire::Encode(wire::Ready{run, "rocket", "fake-2", version, 0}, &bytes);
  actors.SendBytes(kStranger, bytes);
  // A valid trajectory nobody asked for.
  actors.Send(kStranger, actors.Valid(kStranger, 105));
  // Found once the grant is spent: the version is too old or too new.
  wire::Trajectory stale = actors.Valid(0, 100);
  stale.policy_version = version - 2;  // lag 2 > --max-policy-lag 1
  ASSERT_TRUE(SendGranted(actors, stale)) << "no grant; see " << log;
  wire::Trajectory future = actors.Valid(1, 101);
  future.policy_version = version + 100;
  ASSERT_TRUE(SendGranted(actors, future)) << "no grant; see " << log;

  auto counted = [&](const std::string& reason) {
    return MetricValue(Metrics(ports.metrics),
                       "hoverslam_learner_rejected_total{reason=\"" + reason + "\"}");
  };
  for (const char* reason : {"stale", "future", "wrong_run", "non_finite", "malformed",
                             "wrong_proto", "invalid_value", "no_credit"}) {
    EXPECT_TRUE(PollUntil(10, [&] { return counted(reason) == 1; }))
        << reason << " counted " << counted(reason);
  }
  EXPECT_EQ(counted("shape_mismatch"), 0);

  // Training goes on after the faults.
  ASSERT_TRUE(TrainPast(actors, version, &seed)) << "training stopped; see " << log;
  const std::string m = Metrics(ports.metrics);
  EXPECT_GE(MetricValue(m, "hoverslam_learner_policy_version"), version + 1);
  EXPECT_GE(MetricValue(m, "hoverslam_learner_actors_seen"), 2);
  EXPECT_GE(MetricValue(m, "hoverslam_learner_episodes_total{outcome=\"crashed\"}"), 4);
  EXPECT_GE(MetricValue(m, "hoverslam_learner_credits_granted_total"), 2 * (version + 1));
  EXPECT_EQ(MetricValue(m, "hoverslam_learner_batch_transitions"), 256);

  // SIGTERM: a final checkpoint, exit 0.
  learner->Signal(SIGTERM);
  ASSERT_EQ(learner->Wait(20), std::optional<int>(0)) << "see " << log;
  std::smatch match;
  uint64_t saved = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, match, std::regex(R"(ckpt-(\d+)\.pt)"))) {
      saved = std::max<uint64_t>(saved, std::stoull(match[1]));
    }
  }
  EXPECT_GE(saved, version + 1);
  EXPECT_TRUE(std::filesystem::exists(dir + "/policy.msgpack"));

  // A restarted learner continues from that version, in the same run.
  learner = StartLearner(ports, dir, log + ".2");
  FakeActors again(ports);
  ASSERT_TRUE(again.AwaitWeights(30)) << "see " << log << ".2";
  EXPECT_EQ(again.weights().policy_version, saved);
  EXPECT_EQ(again.weights().run, run);
  learner->Signal(SIGTERM);
  EXPECT_EQ(learner->Wait(20), std::optional<int>(0));
}

// What a dashboard reads off the learner: where the loop's time goes, how old the newest
// checkpoint is, lag buckets that end at the limit, the build, and the process itself.
TEST(LearnerIntegration, ExportsPhasesCheckpointAgeAndBuild) {
  const Ports ports;
  const std::string dir = ::testing::TempDir() + "learner_phases_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::string log = dir + ".log";
  const double started = UnixNow();
  auto learner = StartLearner(ports, dir, log, {"--checkpoint-every", "2"});
  FakeActors actors(ports);
  ASSERT_TRUE(actors.AwaitWeights(30)) << "see " << log;
  const std::string first = Metrics(ports.metrics);
  // No checkpoint yet: the age counts from the learner's start.
  const double at_start = MetricValue(first, "hoverslam_learner_last_checkpoint_timestamp_seconds");
  EXPECT_GE(at_start, std::floor(started));
  EXPECT_LE(at_start, UnixNow());

  uint64_t seed = 1;
  ASSERT_TRUE(TrainPast(actors, 4, &seed)) << "see " << log;  // checkpoints at 2 and 4
  const std::string m = Metrics(ports.metrics);
  EXPECT_GT(MetricValue(m, "hoverslam_learner_last_checkpoint_timestamp_seconds"), at_start);
  EXPECT_GE(MetricValue(m, "hoverslam_learner_checkpoints_written_total"), 2);
  for (const char* phase : {"wait", "batch", "optimise", "publish", "checkpoint"}) {
    EXPECT_GT(MetricValue(m, std::string("hoverslam_learner_update_phase_seconds_total{phase=\"") +
                                 phase + "\"}"),
              0)
        << phase;
  }
  // Waiting is booked in both counters, the same seconds (the scrape reads one, then the
  // other, while the loop may add a 100 ms wait to both).
  EXPECT_NEAR(MetricValue(m, "hoverslam_learner_update_phase_seconds_total{phase=\"wait\"}"),
              MetricValue(m, "hoverslam_learner_wait_seconds_total"), 0.25);
  // --max-policy-lag 1: buckets 0 and 1, then +Inf; nothing older is ever accepted.
  EXPECT_EQ(MetricValue(m, "hoverslam_learner_max_policy_lag"), 1);
  EXPECT_GE(MetricValue(m, "hoverslam_learner_policy_lag_bucket{le=\"1\"}"), 1);
  EXPECT_EQ(MetricValue(m, "hoverslam_learner_policy_lag_bucket{le=\"1\"}"),
            MetricValue(m, "hoverslam_learner_policy_lag_bucket{le=\"+Inf\"}"));
  EXPECT_EQ(m.find("hoverslam_learner_policy_lag_bucket{le=\"2\"}"), std::string::npos);
  EXPECT_NE(m.find("hoverslam_build_info{binary=\"learner\","), std::string::npos);
  const double process_start = MetricValue(m, "process_start_time_seconds");
  EXPECT_GE(process_start, std::floor(started) - 1);
  EXPECT_LE(process_start, UnixNow());
  EXPECT_GT(MetricValue(m, "process_resident_memory_bytes"), 10e6);  // LibTorch alone is more
  learner->Signal(SIGTERM);
  EXPECT_EQ(learner->Wait(20), std::optional<int>(0));
}

// Messages that decode and validate but do not fit: an actor of another env version (other
// obs_dim), and finite values no rocket actor produces. Each is refused under its reason,
// the learner stays up and goes on training on good data.
TEST(LearnerIntegration, RejectsDataThatDoesNotFitAndTrainsOn) {
  const Ports ports;
  const std::string dir = ::testing::TempDir() + "learner_fit_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::string log = dir + ".log";
  auto learner = StartLearner(ports, dir, log);
  FakeActors actors(ports);
  ASSERT_TRUE(actors.AwaitWeights(30)) << "no weights published; see " << log;
  uint64_t seed = 1;
  ASSERT_TRUE(TrainPast(actors, 0, &seed)) << "see " << log;
  const uint64_t version = actors.weights().policy_version;

  wire::Trajectory other_env = actors.Valid(0, 200);
  other_env.Resize(kT, kN, 4, 2);                 // obs_dim 4: a valid message of another task
  actors.Send(FakeActors::kStranger, other_env);  // the decoder refuses it: no grant needed
  // A LunarLander actor pointed at this rocket learner: 8 observations, its env's name.
  wire::Trajectory lunar = actors.Valid(0, 202);
  lunar.env = "lunar_lander_continuous";
  lunar.Resize(kT, kN, 8, 2);
  actors.Send(FakeActors::kStranger, lunar);
  std::vector<wire::Trajectory> absurd(5, actors.Valid(1, 201));
  absurd[0].rewards[3] = 1e30f;
  absurd[1].logp[2] = -1e30f;  // a sample 1e15 standard deviations out
  absurd[2].logp[2] = 1e4f;    // a density no Gaussian with log_std >= -20 has
  absurd[3].obs[10] = 1e20f;
  absurd[4].episodes[0].episode_return = -1e30f;
  for (const wire::Trajectory& t : absurd) {
    ASSERT_TRUE(SendGranted(actors, t)) << "no grant; see " << log;
  }

  auto counted = [&](const std::string& reason) {
    return MetricValue(Metrics(ports.metrics),
                       "hoverslam_learner_rejected_total{reason=\"" + reason + "\"}");
  };
  EXPECT_TRUE(PollUntil(10, [&] { return counted("wrong_dims") == 1; }))
      << "wrong_dims counted " << counted("wrong_dims") << "; see " << log;
  EXPECT_TRUE(PollUntil(10, [&] { return counted("wrong_env") == 1; }))
      << "wrong_env counted " << counted("wrong_env") << "; see " << log;
  EXPECT_TRUE(PollUntil(10, [&] { return counted("out_of_range") == 5; }))
      << "out_of_range counted " << counted("out_of_range") << "; see " << log;
  ASSERT_EQ(learner->Wait(0), std::nullopt) << "the learner exited; see " << log;

  ASSERT_TRUE(TrainPast(actors, version + 2, &seed)) << "training stopped; see " << log;
  const std::string m = Metrics(ports.metrics);
  EXPECT_EQ(MetricValue(m, "hoverslam_learner_rejected_updates_total"), 0);
  EXPECT_EQ(MetricValue(m, "hoverslam_learner_skipped_minibatches_total"), 0);
  learner->Signal(SIGTERM);
  EXPECT_EQ(learner->Wait(20), std::optional<int>(0)) << "see " << log;
}

std::vector<uint64_t> CheckpointVersions(const std::string& dir) {
  std::vector<uint64_t> versions;
  std::smatch match;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, match, std::regex(R"(ckpt-(\d+)\.pt)"))) {
      versions.push_back(std::stoull(match[1]));
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

// Checkpoints every 20 versions, a crash at 27: a restart from checkpoint 20 has weights
// other than those published as 21..27, so it must never publish those numbers again, nor
// any number a crashed restart published.
TEST(LearnerIntegration, VersionsNeverRepeatAfterARestart) {
  const Ports ports;
  const std::string dir = ::testing::TempDir() + "learner_versions_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  const std::string log = dir + ".log";
  auto learner =
      StartLearner(ports, dir, log, {"--checkpoint-every", "20", "--max-versions", "27"});
  {
    FakeActors actors(ports);
    ASSERT_TRUE(actors.AwaitWeights(30)) << "see " << log;
    uint64_t seed = 1;
    ASSERT_TRUE(TrainPast(actors, 26, &seed, 120)) << "see " << log;
    EXPECT_EQ(actors.weights().policy_version, 27u);
    ASSERT_EQ(learner->Wait(20), std::optional<int>(0)) << "see " << log;
  }
  // Its final checkpoint lost: as if it had crashed at 27 after checkpoint 20.
  ASSERT_EQ(CheckpointVersions(dir), (std::vector<uint64_t>{20, 27})) << "see " << log;
  std::filesystem::remove(dir + "/ckpt-000000000027.pt");

  learner = StartLearner(ports, dir, log + ".2");
  uint64_t first = 0;
  std::string run;
  {
    FakeActors actors(ports);
    ASSERT_TRUE(actors.AwaitWeights(30)) << "see " << log << ".2";
    first = actors.weights().policy_version;
    run = actors.weights().run;
    EXPECT_GT(first, 27u) << "restored checkpoint 20 published as a version already used";
  }
  learner->Signal(SIGKILL);  // a crash right after publishing, before any checkpoint
  ASSERT_EQ(learner->Wait(20), std::optional<int>(-SIGKILL));

  learner = StartLearner(ports, dir, log + ".3");
  FakeActors actors(ports);
  ASSERT_TRUE(actors.AwaitWeights(30)) << "see " << log << ".3";
  EXPECT_GT(actors.weights().policy_version, first);
  EXPECT_EQ(actors.weights().run, run);
  learner->Signal(SIGTERM);
  EXPECT_EQ(learner->Wait(20), std::optional<int>(0)) << "see " << log << ".3";
}

}  // namespace
}  // namespace hoverslam
