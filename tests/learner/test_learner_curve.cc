// The real hoverslam-learner with CURVE, against the real hoverslam-actor and raw
// ZeroMQ clients on 127.0.0.1: it refuses to start without what CURVE needs, admits
// only authorized keys (counting every refusal), picks up a key added or removed
// while both run, and the actor's weights-age watchdog sees a stopped learner.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "tests/support/files.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

namespace fs = std::filesystem;
using testing::Child;
using testing::FreePort;
using testing::PollUntil;
using testing::ReadAll;
using testing::WriteFile;

struct Keys {
  std::string public_key, secret_key;
};

Keys NewKeys() {
  char pub[41] = {}, sec[41] = {};
  EXPECT_EQ(zmq_curve_keypair(pub, sec), 0);
  return {pub, sec};
}

// The value of one sample (`name` or `name{labels}`), or -1 when absent.
double MetricValue(int port, const std::string& series) {
  const std::string metrics = "\n" + testing::HttpGet(port, "/metrics").value_or("");
  const std::string line = "\n" + series + " ";
  const size_t at = metrics.find(line);
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + line.size()));
}

// The sum of every sample of a family, or -1 when it has none.
double MetricSum(int port, const std::string& name) {
  const std::string metrics = testing::HttpGet(port, "/metrics").value_or("");
  double sum = 0;
  bool any = false;
  for (size_t at = metrics.find("\n" + name); at != std::string::npos;
       at = metrics.find("\n" + name, at + 1)) {
    const size_t space = metrics.find(' ', at + 1);
    const char next = metrics[at + 1 + name.size()];
    if (space == std::string::npos || (next != '{' && next != ' ')) continue;
    sum += std::stod(metrics.substr(space + 1));
    any = true;
  }
  return any ? sum : -1;
}

// A directory with the learner's keys and its authorized-client directory.
class CurveLearner : public ::testing::Test {
 protected:
  CurveLearner() {
    char tmpl[] = "/tmp/hoverslam-learner-curve-XXXXXX";
    dir_ = mkdtemp(tmpl);
    learner_keys_ = NewKeys();
    fs::create_directory(clients());
    WriteFile(dir_ + "/learner.key", learner_keys_.secret_key + "\n", 0600);
    WriteFile(dir_ + "/learner.pub", learner_keys_.public_key + "\n", 0644);
  }
  ~CurveLearner() override {
    children_.clear();  // SIGKILL what still runs before its files go
    fs::remove_all(dir_);
  }

  std::string clients() const { return dir_ + "/clients"; }
  std::string Log(const std::string& name) const { return dir_ + "/" + name + ".log"; }

  // Keys for a client NAME: NAME.key (0600) and NAME.pub in the test directory.
  Keys Client(const std::string& name) {
    const Keys keys = NewKeys();
    WriteFile(dir_ + "/" + name + ".key", keys.secret_key + "\n", 0600);
    WriteFile(dir_ + "/" + name + ".pub", keys.public_key + "\n", 0644);
    return keys;
  }
  void Authorize(const std::string& name) {
    fs::copy_file(dir_ + "/" + name + ".pub", clients() + "/" + name + ".pub.tmp");
    fs::rename(clients() + "/" + name + ".pub.tmp", clients() + "/" + name + ".pub");
  }

  Child& Start(const std::string& name, const std::vector<std::string>& argv) {
    children_.push_back(std::make_unique<Child>(argv, Log(name)));
    return *children_.back();
  }

  Child& StartLearner(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{HOVERSLAM_LEARNER_BIN,
                                  "--bind",
                                  "127.0.0.1",
                                  "--trajectory-port",
                                  std::to_string(trajectory_port_),
                                  "--weights-port",
                                  std::to_string(weights_port_),
                                  "--metrics-port",
                                  std::to_string(learner_metrics_),
                                  "--device",
                                  "cpu",
                                  "--threads",
                                  "1",
                                  "--batch-transitions",
                                  "256",
                                  "--republish-interval",
                                  "0.2",
                                  "--epochs",
                                  "1",
                                  "--health-timeout",
                                  "30"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Start("learner", argv);
  }
  Child& StartCurveLearner() {
    return StartLearner(
        {"--curve-secret-key-file", dir_ + "/learner.key", "--curve-client-keys", clients()});
  }

  Child& StartActor(const std::string& name, int metrics_port, bool curve) {
    std::vector<std::string> argv{HOVERSLAM_ACTOR_BIN,
                                  "--learner",
                                  "127.0.0.1",
                                  "--trajectory-port",
                                  std::to_string(trajectory_port_),
                                  "--weights-port",
                                  std::to_string(weights_port_),
                                  "--metrics-port",
                                  std::to_string(metrics_port),
                                  "--num-envs",
                                  "4",
                                  "--steps-per-message",
                                  "16",
                                  "--actor-id",
                                  name,
                                  "--log-interval",
                                  "1"};
    if (curve) {
      for (const std::string& a :
           {std::string("--curve-server-key-file"), dir_ + "/learner.pub",
            std::string("--curve-secret-key-file"), dir_ + "/" + name + ".key",
            std::string("--zmq-refused-retry"), std::string("200"),
            std::string("--zmq-refused-retry-max"), std::string("800")}) {
        argv.push_back(a);
      }
    }
    return Start(name, argv);
  }

  // Whether the learner's /metrics answers (it is up and has bound its sockets).
  bool LearnerUp(double timeout_s) {
    return PollUntil(timeout_s, [&] { return testing::HealthStatus(learner_metrics_) != 0; });
  }

  std::string dir_;
  Keys learner_keys_;
  int trajectory_port_ = FreePort(), weights_port_ = FreePort(), learner_metrics_ = FreePort();
  std::vector<std::unique_ptr<Child>> children_;
};

TEST_F(CurveLearner, SecretKeyWithoutClientKeysRefusesToStartNamingTheFlag) {
  Child& learner = StartLearner({"--curve-secret-key-file", dir_ + "/learner.key"});
  const std::optional<int> status = learner.Wait(60);
  ASSERT_TRUE(status.has_value()) << "still running without --curve-client-keys";
  EXPECT_NE(*status, 0);
  EXPECT_NE(ReadAll(Log("learner")).find("--curve-client-keys"), std::string::npos)
      << ReadAll(Log("learner"));
}

TEST_F(CurveLearner, LooseOrMalformedSecretKeyRefusesToStartNamingTheFile) {
  WriteFile(dir_ + "/loose.key", learner_keys_.secret_key + "\n", 0644);
  Child& loose = StartLearner(
      {"--curve-secret-key-file", dir_ + "/loose.key", "--curve-client-keys", clients()});
  ASSERT_TRUE(loose.Wait(60).has_value());
  EXPECT_NE(*loose.Wait(0), 0);
  std::string log = ReadAll(Log("learner"));
  EXPECT_NE(log.find(dir_ + "/loose.key"), std::string::npos) << log;
  EXPECT_NE(log.find("group or others"), std::string::npos) << log;

  WriteFile(dir_ + "/bad.key", "secret\n", 0600);
  Child& bad = StartLearner(
      {"--curve-secret-key-file", dir_ + "/bad.key", "--curve-client-keys", clients()});
  ASSERT_TRUE(bad.Wait(60).has_value());
  EXPECT_NE(*bad.Wait(0), 0);
  log = ReadAll(Log("learner"));
  EXPECT_NE(log.find(dir_ + "/bad.key"), std::string::npos) << log;
  EXPECT_NE(log.find("not a CURVE key"), std::string::npos) << log;
}

TEST_F(CurveLearner, ActorFlagsAreBothOrNeither) {
  Client("actor-0");
  Child& actor = Start("actor-0", {HOVERSLAM_ACTOR_BIN, "--learner", "127.0.0.1", "--metrics-port",
                                   "0", "--curve-server-key-file", dir_ + "/learner.pub"});
  const std::optional<int> status = actor.Wait(30);
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(*status, 0);
  EXPECT_NE(ReadAll(Log("actor-0")).find("--curve-secret-key-file"), std::string::npos)
      << ReadAll(Log("actor-0"));
}

TEST_F(CurveLearner, AdmitsOnlyAuthorizedKeysAndCountsEveryRefusal) {
  Client("actor-0");
  Authorize("actor-0");
  StartCurveLearner();
  ASSERT_TRUE(LearnerUp(60)) << ReadAll(Log("learner"));

  // Plaintext clients and a CURVE client with an unknown key, on both channels.
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> strangers;
  const Keys unknown = NewKeys();
  for (bool curve : {false, true}) {
    for (auto [type, port] : {std::pair{zmq::socket_type::dealer, trajectory_port_},
                              std::pair{zmq::socket_type::sub, weights_port_}}) {
      zmq::socket_t s(ctx, type);
      s.set(zmq::sockopt::linger, 0);
      if (type == zmq::socket_type::sub) s.set(zmq::sockopt::subscribe, "");
      if (curve) {
        s.set(zmq::sockopt::curve_serverkey, learner_keys_.public_key);
        s.set(zmq::sockopt::curve_publickey, unknown.public_key);
        s.set(zmq::sockopt::curve_secretkey, unknown.secret_key);
      }
      s.connect("tcp://127.0.0.1:" + std::to_string(port));
      strangers.push_back(std::move(s));
    }
  }
  const std::string failures = "hoverslam_learner_auth_failures_total";
  EXPECT_TRUE(PollUntil(20, [&] {
    return MetricValue(learner_metrics_, failures + "{reason=\"key_not_authorized\"}") >= 2;
  })) << testing::HttpGet(learner_metrics_, "/metrics").value_or("");
  EXPECT_TRUE(PollUntil(20, [&] {
    return MetricValue(learner_metrics_, failures + "{reason=\"not_curve\"}") +
               MetricValue(learner_metrics_, failures + "{reason=\"handshake_aborted\"}") >=
           2;
  }));
  // Nothing of theirs arrived: they could not even send.
  for (zmq::socket_t& s : strangers) {
    if (s.get(zmq::sockopt::type) != ZMQ_SUB) continue;
    zmq::message_t m;
    EXPECT_FALSE(s.recv(m, zmq::recv_flags::dontwait));
  }

  // The authorized actor trains the learner.
  const int actor_metrics = FreePort();
  StartActor("actor-0", actor_metrics, /*curve=*/true);
  EXPECT_TRUE(PollUntil(60, [&] {
    return MetricValue(learner_metrics_, "hoverslam_learner_policy_version") >= 2;
  })) << ReadAll(Log("actor-0"));
  EXPECT_EQ(MetricValue(actor_metrics, "hoverslam_actor_connected{channel=\"trajectories\"}"), 1);
  EXPECT_EQ(MetricSum(actor_metrics, "hoverslam_actor_auth_failures_total"), 0);
}

TEST_F(CurveLearner, ActorRefusedOnceGetsInWhenItsKeyIsAddedAndRemovalStopsNewConnections) {
  Client("actor-0");
  Client("other");
  Authorize("other");
  StartCurveLearner();
  ASSERT_TRUE(LearnerUp(60)) << ReadAll(Log("learner"));
  const int actor_metrics = FreePort();
  Child& actor = StartActor("actor-0", actor_metrics, /*curve=*/true);
  const std::string refused =
      "hoverslam_actor_auth_failures_total{channel=\"weights\",reason=\"key_refused\"}";
  ASSERT_TRUE(PollUntil(30, [&] { return MetricValue(actor_metrics, refused) >= 2; }))
      << "the actor did not notice it is refused, or stopped retrying\n"
      << ReadAll(Log("actor-0"));
  EXPECT_NE(ReadAll(Log("actor-0")).find("not authorized"), std::string::npos);
  EXPECT_TRUE(PollUntil(10, [&] {
    return MetricValue(learner_metrics_,
                       "hoverslam_learner_auth_failures_total{reason=\"key_not_authorized\"}") >= 1;
  }));
  EXPECT_LE(MetricValue(learner_metrics_, "hoverslam_learner_trajectories_received_total"), 0);

  // Authorized while both run: within seconds its trajectories are accepted.
  Authorize("actor-0");
  EXPECT_TRUE(PollUntil(30, [&] {
    return MetricValue(learner_metrics_, "hoverslam_learner_trajectories_received_total") >= 2;
  })) << ReadAll(Log("actor-0"));
  EXPECT_TRUE(PollUntil(10, [&] {
    return MetricValue(actor_metrics, "hoverslam_actor_connected{channel=\"trajectories\"}") == 1;
  }));
  EXPECT_FALSE(actor.Wait(0).has_value()) << "the actor restarted or died";

  // Removed: a new connection with that key (a second actor holding it) is refused.
  EXPECT_EQ(MetricValue(learner_metrics_, "hoverslam_learner_authorized_keys"), 2);
  fs::remove(clients() + "/actor-0.pub");
  ASSERT_TRUE(PollUntil(
      10, [&] { return MetricValue(learner_metrics_, "hoverslam_learner_authorized_keys") == 1; }));
  const double before = MetricValue(
      learner_metrics_, "hoverslam_learner_auth_failures_total{reason=\"key_not_authorized\"}");
  const int copy_metrics = FreePort();
  fs::copy_file(dir_ + "/actor-0.key", dir_ + "/copy.key");
  chmod((dir_ + "/copy.key").c_str(), 0600);
  StartActor("copy", copy_metrics, /*curve=*/true);
  EXPECT_TRUE(PollUntil(30, [&] { return MetricValue(copy_metrics, refused) >= 1; }))
      << ReadAll(Log("copy"));
  EXPECT_TRUE(PollUntil(10, [&] {
    return MetricValue(learner_metrics_,
                       "hoverslam_learner_auth_failures_total{reason=\"key_not_authorized\"}") >
           before;
  }));
  EXPECT_LE(MetricValue(copy_metrics, "hoverslam_actor_trajectories_sent_total"), 0);
}

TEST_F(CurveLearner, ActorWeightsAgeGrowsWhileTheLearnerIsStoppedAndDropsAfter) {
  Child& learner = StartLearner({});
  ASSERT_TRUE(LearnerUp(60)) << ReadAll(Log("learner"));
  const int actor_metrics = FreePort();
  StartActor("actor-0", actor_metrics, /*curve=*/false);
  const std::string age = "hoverslam_actor_weights_age_seconds";
  // Training: versions come every fraction of a second.
  ASSERT_TRUE(PollUntil(60, [&] {
    return MetricValue(learner_metrics_, "hoverslam_learner_policy_version") >= 3 &&
           MetricValue(actor_metrics, age) >= 0 && MetricValue(actor_metrics, age) < 1.5;
  })) << ReadAll(Log("actor-0"));

  learner.Signal(SIGSTOP);
  // Updated while the actor is blocked on the stopped learner.
  EXPECT_TRUE(PollUntil(20, [&] { return MetricValue(actor_metrics, age) >= 4; }))
      << "age " << MetricValue(actor_metrics, age);
  learner.Signal(SIGCONT);
  EXPECT_TRUE(PollUntil(60,
                        [&] {
                          const double a = MetricValue(actor_metrics, age);
                          return a >= 0 && a < 1.5;
                        }))
      << "age " << MetricValue(actor_metrics, age) << "\n"
      << ReadAll(Log("actor-0"));
}

}  // namespace
}  // namespace hoverslam
