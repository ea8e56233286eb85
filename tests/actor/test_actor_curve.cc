// The real hoverslam-actor binary with CURVE on, against this test playing a CURVE learner
// (ZAP authenticator, granting ROUTER and PUB) over real ZeroMQ sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/curve.h"
#include "common/protocol.h"
#include "common/zap_authenticator.h"
#include "common/zmq_sockets.h"
#include "tests/actor/actor_test_util.h"
#include "tests/support/granting_sink.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

using testing::MakeWeights;

// A CURVE learner's sockets in this test (ZAP authenticator, granting ROUTER and PUB) and an
// actor with keys in a temporary directory.
class ActorCurve : public ::testing::Test {
 protected:
  ActorCurve() {
    char tmpl[] = "/tmp/hoverslam-actor-curve-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::create_directory(dir_ + "/clients");
    learner_ = NewCurveKeyPair();
    actor_ = NewCurveKeyPair();
    Write("learner.key", learner_.secret_key, 0600);
    Write("actor.key", actor_.secret_key, 0600);
    Write("actor.pub", actor_.public_key, 0644);
  }
  ~ActorCurve() override {
    sink_.reset();
    pub_.close();
    zap_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Write(const std::string& name, const std::string& key, mode_t mode) {
    std::ofstream(dir_ + "/" + name) << key << "\n";
    ASSERT_EQ(chmod((dir_ + "/" + name).c_str(), mode), 0);
  }

  void StartLearner(const std::string& server_public_key_for_actor) {
    zap_ = std::make_unique<ZapAuthenticator>(
        ctx_, CurveServerFiles{dir_ + "/learner.key", dir_ + "/clients"},
        ZapAuthenticator::Hooks{});
    sink_ = std::make_unique<testing::GrantingSink>(ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                                    ZmqConfig{}, zap_->Server("trajectories"));
    pub_ = MakeWeightsPub(ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{},
                          zap_->Server("weights"));
    Write("learner.pub", server_public_key_for_actor, 0644);
  }

  std::unique_ptr<testing::Child> StartActor(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{HOVERSLAM_ACTOR_BIN,
                                  "--learner",
                                  "127.0.0.1",
                                  "--trajectory-port",
                                  std::to_string(trajectory_port_),
                                  "--weights-port",
                                  std::to_string(weights_port_),
                                  "--metrics-port",
                                  std::to_string(metrics_port_),
                                  "--num-envs",
                                  "2",
                                  "--steps-per-message",
                                  "4",
                                  "--log-interval",
                                  "0.5",
                                  "--zmq-refused-retry",
                                  "100",
                                  "--zmq-refused-retry-max",
                                  "400"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<testing::Child>(argv, log_);
  }
  std::vector<std::string> CurveFlags() const {
    return {"--curve-server-key-file", dir_ + "/learner.pub", "--curve-secret-key-file",
            dir_ + "/actor.key"};
  }
  std::string LogText() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string Metrics() const { return testing::HttpGet(metrics_port_, "/metrics").value_or(""); }

  std::string dir_;
  CurveKeyPair learner_, actor_;
  zmq::context_t ctx_{1};
  std::unique_ptr<ZapAuthenticator> zap_;
  int trajectory_port_ = testing::FreePort(), weights_port_ = testing::FreePort(),
      metrics_port_ = testing::FreePort();
  std::unique_ptr<testing::GrantingSink> sink_;
  zmq::socket_t pub_;
  std::string log_ = ::testing::TempDir() + "actor_curve.log";
};

TEST_F(ActorCurve, AuthorizedActorStreamsOverCurve) {
  std::filesystem::copy_file(dir_ + "/actor.pub", dir_ + "/clients/actor.pub");
  StartLearner(learner_.public_key);
  std::unique_ptr<testing::Child> actor = StartActor(CurveFlags());
  std::vector<char> bytes;
  wire::Encode(MakeWeights(1, 5), &bytes);
  std::optional<testing::GrantingSink::Message> message;
  ASSERT_TRUE(testing::PollUntil(20, [&] {
    pub_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    message = sink_->Receive(0.01);
    return message.has_value();
  })) << LogText();
  wire::Trajectory t;
  EXPECT_TRUE(wire::Decode(message->payload.data(), message->payload.size(), wire::Limits{},
                           wire::Expect{}, &t));
  EXPECT_TRUE(testing::PollUntil(5, [&] {
    return Metrics().find("hoverslam_actor_connected{channel=\"weights\"} 1") != std::string::npos;
  }));
  actor->Signal(SIGTERM);
  EXPECT_EQ(actor->Wait(2.0), std::optional<int>(0));
}

// A wrong --curve-server-key-file: the learner drops the handshake and the actor,
// which cannot tell why, says what to check, keeps trying and stays healthy.
TEST_F(ActorCurve, WrongServerKeyIsReportedAndTheActorKeepsTrying) {
  std::filesystem::copy_file(dir_ + "/actor.pub", dir_ + "/clients/actor.pub");
  StartLearner(NewCurveKeyPair().public_key);
  std::unique_ptr<testing::Child> actor = StartActor(CurveFlags());
  EXPECT_TRUE(testing::PollUntil(20, [&] {
    return LogText().find("--curve-server-key-file may not be the learner's public key") !=
           std::string::npos;
  })) << LogText();
  EXPECT_NE(Metrics().find("hoverslam_actor_connected{channel=\"weights\"} 0"), std::string::npos);
  EXPECT_EQ(testing::HealthStatus(metrics_port_), 200);
  EXPECT_FALSE(actor->Wait(0).has_value());
}

TEST_F(ActorCurve, KeyFilesAreCheckedAtStartUp) {
  StartLearner(learner_.public_key);
  Write("loose.key", actor_.secret_key, 0644);
  std::unique_ptr<testing::Child> loose =
      StartActor({"--curve-server-key-file", dir_ + "/learner.pub", "--curve-secret-key-file",
                  dir_ + "/loose.key"});
  EXPECT_EQ(loose->Wait(20), std::optional<int>(2));
  EXPECT_NE(LogText().find(dir_ + "/loose.key"), std::string::npos) << LogText();
  EXPECT_NE(LogText().find("group or others"), std::string::npos) << LogText();

  std::unique_ptr<testing::Child> half =
      StartActor({"--curve-secret-key-file", dir_ + "/actor.key"});
  EXPECT_EQ(half->Wait(20), std::optional<int>(2));
  EXPECT_NE(LogText().find("--curve-server-key-file"), std::string::npos) << LogText();

  Write("garbled.pub", "this is not a key", 0644);
  std::unique_ptr<testing::Child> garbled =
      StartActor({"--curve-server-key-file", dir_ + "/garbled.pub", "--curve-secret-key-file",
                  dir_ + "/actor.key"});
  EXPECT_EQ(garbled->Wait(20), std::optional<int>(2));
  EXPECT_NE(LogText().find(dir_ + "/garbled.pub"), std::string::npos) << LogText();
}

}  // namespace
}  // namespace hoverslam
