// The real hoverslam-actor binary against this test playing the learner over
// real ZeroMQ sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "common/curve.h"
#include "common/policy.h"
#include "common/protocol.h"
#include "common/rng.h"
#include "common/zap_authenticator.h"
#include "common/zmq_sockets.h"
#include "tests/support/granting_sink.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

using testing::Child;
using testing::FreePort;
using testing::HttpGet;
using testing::PollUntil;

constexpr uint32_t kT = 8, kN = 4;

wire::Weights MakeWeights(uint64_t version, uint64_t seed) {
  Rng rng(seed);
  wire::Weights w;
  w.run = "run-a";
  w.policy_version = version;
  w.obs_dim = 6;
  w.act_dim = 2;
  w.activation = wire::Activation::kTanh;
  uint32_t in = 6;
  for (uint32_t out : {16u, 2u}) {
    wire::Layer l{in, out, std::vector<float>(out * in), std::vector<float>(out)};
    for (float& x : l.w) x = 0.3f * rng.Normal();
    for (float& x : l.b) x = 0.1f * rng.Normal();
    w.layers.push_back(l);
    in = out;
  }
  w.log_std = {-0.5f, -1.0f};
  w.obs_mean = {40, 30, 0, 0, -1, 0};
  w.obs_var = {300, 50, 0.05f, 2, 2, 0.1f};
  w.obs_clip = 5;
  return w;
}

// The learner's two endpoints: a sink that grants every ready (with the actor's own version
// unless told otherwise) and a weights publisher.
class FakeLearner {
 public:
  FakeLearner(int trajectory_port, int weights_port)
      : sink_(ctx_, Endpoint("127.0.0.1", trajectory_port)),
        pub_(MakeWeightsPub(ctx_, Endpoint("127.0.0.1", weights_port), ZmqConfig{})) {}

  void Publish(const wire::Weights& w) {
    std::vector<char> bytes;
    wire::Encode(w, &bytes);
    pub_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }

  // Publishes `w` every 20 ms until a trajectory arrives that satisfies `accept`
  // (earlier ones are dropped), or the deadline passes.
  std::optional<wire::Trajectory> ReceiveWhilePublishing(
      const wire::Weights* w, double timeout_s,
      const std::function<bool(const wire::Trajectory&)>& accept) {
    std::optional<wire::Trajectory> got;
    double last_publish = 0;
    PollUntil(timeout_s, [&] {
      if (w && testing::Seconds() - last_publish > 0.02) {
        Publish(*w);
        last_publish = testing::Seconds();
      }
      std::optional<wire::Trajectory> t = Receive(10);
      if (t && accept(*t)) got = std::move(t);
      return got.has_value();
    });
    return got;
  }

  std::optional<wire::Trajectory> Receive(int timeout_ms) {
    std::optional<testing::GrantingSink::Message> m = sink_.Receive(timeout_ms / 1000.0);
    if (!m) return std::nullopt;
    wire::Trajectory t;
    const wire::DecodeResult r = wire::Decode(m->payload.data(), m->payload.size(), wire::Limits{},
                                              wire::Expect{"run-a", "rocket"}, &t);
    EXPECT_TRUE(r) << wire::RejectName(r.reason) << ": " << r.message;
    if (!r) return std::nullopt;
    return t;
  }

  testing::GrantingSink& sink() { return sink_; }

 private:
  zmq::context_t ctx_{1};
  testing::GrantingSink sink_;
  zmq::socket_t pub_;
};

// Every action's logp recomputes from the weights that were in use.
void ExpectLogpRecomputes(const wire::Trajectory& t, const wire::Weights& w) {
  std::string why;
  std::optional<Policy> policy = Policy::FromWeights(w, 6, 2, &why);
  ASSERT_TRUE(policy) << why;
  std::vector<float> logp(kN);
  for (uint32_t s = 0; s < kT; ++s) {
    policy->LogProb(&t.obs[s * kN * 6], &t.actions[s * kN * 2], kN, logp.data());
    for (uint32_t n = 0; n < kN; ++n) {
      ASSERT_NEAR(logp[n], t.logp[s * kN + n], 1e-5) << "step " << s << " env " << n;
    }
  }
}

TEST(ActorIntegration, StreamsSwitchesVersionsRejectsBadWeightsAndStopsOnSigterm) {
  const int trajectory_port = FreePort(), weights_port = FreePort(), metrics_port = FreePort();
  FakeLearner learner(trajectory_port, weights_port);
  const std::string log = ::testing::TempDir() + "actor_integration.log";
  Child actor({HOVERSLAM_ACTOR_BIN, "--learner", "127.0.0.1", "--trajectory-port",
               std::to_string(trajectory_port), "--weights-port", std::to_string(weights_port),
               "--metrics-port", std::to_string(metrics_port), "--num-envs", std::to_string(kN),
               "--steps-per-message", std::to_string(kT), "--seed", "3", "--actor-id", "test-actor",
               "--log-interval", "1"},
              log);

  const wire::Weights v1 = MakeWeights(1, 11), v2 = MakeWeights(2, 22);
  auto any = [](const wire::Trajectory&) { return true; };
  std::optional<wire::Trajectory> first = learner.ReceiveWhilePublishing(&v1, 20, any);
  ASSERT_TRUE(first) << "no trajectory; actor log: " << log;
  // It asked first: a ready naming itself, its weights and the size of its rollouts.
  ASSERT_GE(learner.sink().readies(), 1);
  EXPECT_EQ(learner.sink().last_ready().actor, "test-actor");
  EXPECT_EQ(learner.sink().last_ready().run, "run-a");
  EXPECT_EQ(learner.sink().last_ready().env, "rocket");
  EXPECT_EQ(learner.sink().last_ready().policy_version, 1u);
  EXPECT_EQ(learner.sink().last_ready().transitions, uint64_t{kT} * kN);
  EXPECT_EQ(first->actor, "test-actor");
  EXPECT_EQ(first->policy_version, 1u);
  EXPECT_EQ(first->num_steps, kT);
  EXPECT_EQ(first->num_envs, kN);
  EXPECT_EQ(first->obs_dim, 6u);
  EXPECT_EQ(first->act_dim, 2u);
  ExpectLogpRecomputes(*first, v1);

  // Consecutive messages continue each other: obs[0] of the next is obs[T] of this.
  wire::Trajectory prev = *first;
  for (int k = 0; k < 3; ++k) {
    std::optional<wire::Trajectory> next = learner.ReceiveWhilePublishing(nullptr, 5, any);
    ASSERT_TRUE(next);
    EXPECT_EQ(std::memcmp(next->obs.data(), &prev.obs[kT * kN * 6], kN * 6 * sizeof(float)), 0);
    if (next->policy_version == 1) ExpectLogpRecomputes(*next, v1);
    prev = *next;
  }

  // Version 2: later messages carry it, and their actions came from it.
  std::optional<wire::Trajectory> with_v2 = learner.ReceiveWhilePublishing(
      &v2, 10, [](const wire::Trajectory& t) { return t.policy_version == 2; });
  ASSERT_TRUE(with_v2);
  ExpectLogpRecomputes(*with_v2, v2);

  // NaN weights (version 3) are rejected and version 2 stays in use.
  wire::Weights bad = MakeWeights(3, 33);
  bad.layers[0].w[5] = std::nanf("");
  std::optional<std::string> metrics;
  int received = 0;
  // Keep publishing the bad weights and taking trajectories (so the actor keeps
  // reaching message boundaries) until the actor has counted the rejection.
  ASSERT_TRUE(PollUntil(10, [&] {
    learner.Publish(bad);
    if (std::optional<wire::Trajectory> t = learner.Receive(50)) {
      EXPECT_EQ(t->policy_version, 2u);
      ++received;
    }
    metrics = HttpGet(metrics_port, "/metrics");
    return received >= 3 && metrics &&
           metrics->find("hoverslam_actor_weights_rejected_total{reason=\"non_finite\"} 0\n") ==
               std::string::npos;
  })) << "rejection not counted";
  EXPECT_NE(metrics->find("hoverslam_actor_policy_version 2"), std::string::npos);
  EXPECT_NE(metrics->find("hoverslam_actor_episodes_total{outcome=\"crashed\"}"),
            std::string::npos);

  // promtool, from Debian's prometheus package, accepts the exposition.
  const std::string metrics_file = ::testing::TempDir() + "actor_metrics.txt";
  std::ofstream(metrics_file) << *metrics;
  EXPECT_EQ(std::system(("promtool check metrics < " + metrics_file).c_str()), 0);

  const double t0 = testing::Seconds();
  actor.Signal(SIGTERM);
  const std::optional<int> status = actor.Wait(2.0);
  ASSERT_TRUE(status) << "actor did not stop within 2 s of SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LT(testing::Seconds() - t0, 2.0);
}

double MetricValue(int port, const std::string& series) {
  const std::string metrics = "\n" + HttpGet(port, "/metrics").value_or("");
  const std::string line = "\n" + series + " ";  // a sample, not a # HELP line
  const size_t at = metrics.find(line);
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + line.size()));
}

// Credit flow: without a grant the actor steps nothing; granted a version it does not hold,
// it waits for those weights; it then collects with them and sends exactly one rollout.
TEST(ActorIntegration, CollectsOnlyWhenGrantedAndWithTheGrantedVersion) {
  const int trajectory_port = FreePort(), weights_port = FreePort(), metrics_port = FreePort();
  FakeLearner learner(trajectory_port, weights_port);
  learner.sink().GrantWith([](const wire::Ready&) { return std::nullopt; });
  const std::string log = ::testing::TempDir() + "actor_credit.log";
  Child actor({HOVERSLAM_ACTOR_BIN, "--learner", "127.0.0.1", "--trajectory-port",
               std::to_string(trajectory_port), "--weights-port", std::to_string(weights_port),
               "--metrics-port", std::to_string(metrics_port), "--num-envs", std::to_string(kN),
               "--steps-per-message", std::to_string(kT), "--actor-id", "credit-actor"},
              log);
  const wire::Weights v1 = MakeWeights(1, 11), v2 = MakeWeights(2, 22);
  auto any = [](const wire::Trajectory&) { return true; };
  // Asked, not granted: nothing is collected or sent, and the wait counts as idle.
  EXPECT_FALSE(learner.ReceiveWhilePublishing(&v1, 1.5, any)) << "sent without a grant";
  const int asked = learner.sink().readies();
  ASSERT_GE(asked, 1);
  EXPECT_EQ(learner.sink().last_ready().policy_version, 1u);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_env_steps_total"), 0);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_trajectories_sent_total"), 0);
  EXPECT_GT(MetricValue(metrics_port, "hoverslam_actor_idle_seconds_total"), 0.5);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_rollout_transitions"), kT * kN);

  // Granted version 2 while it holds 1: it waits for the weights, still sending nothing.
  ASSERT_TRUE(learner.sink().Grant(learner.sink().last_ready_peer(), {"run-a", "rocket", 2}));
  EXPECT_FALSE(learner.ReceiveWhilePublishing(&v1, 1.5, any)) << "collected with old weights";
  EXPECT_EQ(learner.sink().grants(), 1);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_grants_received_total"), 1);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_env_steps_total"), 0);
  EXPECT_GT(MetricValue(metrics_port, "hoverslam_actor_weights_wait_seconds_total"), 0.5);

  // Version 2 published: one rollout, collected with it, and a new ready after it.
  std::optional<wire::Trajectory> t = learner.ReceiveWhilePublishing(&v2, 10, any);
  ASSERT_TRUE(t) << "no trajectory once the granted weights arrived; see " << log;
  EXPECT_EQ(t->policy_version, 2u);
  ExpectLogpRecomputes(*t, v2);
  EXPECT_FALSE(learner.Receive(500)) << "a second rollout on one grant";
  EXPECT_GT(learner.sink().readies(), asked);
  EXPECT_EQ(learner.sink().last_ready().policy_version, 2u);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_env_steps_total"), kT * kN);
  actor.Signal(SIGTERM);
  EXPECT_EQ(actor.Wait(2.0), std::optional<int>(0));
}

// A grant names the run as well as the version: weights of another run (a learner restarted
// as a new run) do not serve it, weights of the granted run do.
TEST(ActorIntegration, ServesAGrantOnlyWithWeightsOfTheGrantedRun) {
  const int trajectory_port = FreePort(), weights_port = FreePort(), metrics_port = FreePort();
  FakeLearner learner(trajectory_port, weights_port);
  learner.sink().GrantAlways({"run-b", "rocket", 0});
  const std::string log = ::testing::TempDir() + "actor_granted_run.log";
  Child actor({HOVERSLAM_ACTOR_BIN, "--learner", "127.0.0.1", "--trajectory-port",
               std::to_string(trajectory_port), "--weights-port", std::to_string(weights_port),
               "--metrics-port", std::to_string(metrics_port), "--num-envs", std::to_string(kN),
               "--steps-per-message", std::to_string(kT)},
              log);
  const wire::Weights of_a = MakeWeights(1, 11);
  wire::Weights of_b = MakeWeights(1, 33);
  of_b.run = "run-b";
  // Holding run-a weights, granted run-b: nothing is collected (a trajectory of either run
  // would fail this: FakeLearner expects run-a and nothing at all may arrive).
  EXPECT_FALSE(learner.ReceiveWhilePublishing(&of_a, 1.5, [](const wire::Trajectory&) {
    return true;
  })) << "served a grant of run-b with weights of run-a";
  EXPECT_GE(learner.sink().grants(), 1);
  EXPECT_EQ(MetricValue(metrics_port, "hoverslam_actor_env_steps_total"), 0);

  std::optional<testing::GrantingSink::Message> m;
  ASSERT_TRUE(PollUntil(10,
                        [&] {
                          learner.Publish(of_b);
                          m = learner.sink().Receive(0.02);
                          return m.has_value();
                        }))
      << "no trajectory once weights of the granted run arrived; see " << log;
  wire::Trajectory t;
  const wire::DecodeResult r = wire::Decode(m->payload.data(), m->payload.size(), wire::Limits{},
                                            wire::Expect{"run-b", "rocket"}, &t);
  ASSERT_TRUE(r) << wire::RejectName(r.reason) << ": " << r.message;
  EXPECT_EQ(t.policy_version, 1u);
  ExpectLogpRecomputes(t, of_b);
  actor.Signal(SIGTERM);
  EXPECT_EQ(actor.Wait(2.0), std::optional<int>(0));
}

}  // namespace
}  // namespace hoverslam

namespace hoverslam {
namespace {

TEST(ActorIntegration, BadCurriculumFlagIsNamedAtStartUp) {
  const std::string log = ::testing::TempDir() + "actor_curriculum.log";
  for (auto [flag, value] :
       {std::pair{"--curriculum-low-fraction", "1.5"}, std::pair{"--curriculum-low-y-min", "1"},
        std::pair{"--curriculum-low-y-min", "35"}}) {
    Child actor({HOVERSLAM_ACTOR_BIN, "--metrics-port", "0", flag, value}, log);
    EXPECT_EQ(actor.Wait(20), std::optional<int>(2)) << flag << " " << value;
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(flag), std::string::npos) << text;
  }
  // The rocket's settings with another env would be silently ignored: refused, named.
  Child lunar({HOVERSLAM_ACTOR_BIN, "--metrics-port", "0", "--env", "lunar_lander_continuous",
               "--env-wind-max", "1"},
              log);
  EXPECT_EQ(lunar.Wait(20), std::optional<int>(2));
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("--env-wind-max sets the rocket"), std::string::npos) << text;
}

TEST(ActorIntegration, WaitsForAnAbsentLearnerAndResumesWhenItBinds) {
  const int trajectory_port = testing::FreePort(), weights_port = testing::FreePort();
  zmq::context_t ctx(1);
  zmq::socket_t pub = MakeWeightsPub(ctx, Endpoint("127.0.0.1", weights_port), ZmqConfig{});
  const std::string log = ::testing::TempDir() + "actor_away.log";
  const int metrics_port = testing::FreePort();
  testing::Child actor(
      {HOVERSLAM_ACTOR_BIN, "--learner", "127.0.0.1", "--trajectory-port",
       std::to_string(trajectory_port), "--weights-port", std::to_string(weights_port),
       "--metrics-port", std::to_string(metrics_port), "--health-timeout", "0.5", "--num-envs", "2",
       "--steps-per-message", "4", "--log-interval", "0.2"},
      log);
  // Waiting for weights is legitimate: healthy for three health timeouts.
  ASSERT_TRUE(testing::PollUntil(5, [&] { return testing::HealthStatus(metrics_port) != 0; }));
  EXPECT_TRUE(testing::StaysHealthy(metrics_port, 1.5));
  std::vector<char> bytes;
  wire::Encode(MakeWeights(1, 5), &bytes);
  auto metric = [&](const std::string& series) { return MetricValue(metrics_port, series); };
  // Weights arrive but nobody takes trajectories: the actor cannot even ask for work, so it
  // steps nothing and counts the time as idle.
  ASSERT_TRUE(testing::PollUntil(10, [&] {
    pub.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    return metric("hoverslam_actor_policy_version") == 1 &&
           metric("hoverslam_actor_idle_seconds_total") > 0.5;
  })) << log;
  EXPECT_EQ(metric("hoverslam_actor_env_steps_total"), 0);
  EXPECT_EQ(metric("hoverslam_actor_connected{channel=\"trajectories\"}"), 0);
  EXPECT_FALSE(actor.Wait(0.0).has_value()) << "actor exited while the learner was away";
  // Waiting on a learner that takes nothing: still healthy.
  EXPECT_TRUE(testing::StaysHealthy(metrics_port, 1.5));

  // The learner binds late: the actor asks, is granted, and a trajectory arrives without a
  // restart.
  testing::GrantingSink sink(ctx, Endpoint("127.0.0.1", trajectory_port));
  std::optional<testing::GrantingSink::Message> message = sink.Receive(5.0);
  ASSERT_TRUE(message) << log;
  EXPECT_GE(sink.readies(), 1);
  wire::Trajectory t;
  EXPECT_TRUE(wire::Decode(message->payload.data(), message->payload.size(), wire::Limits{},
                           wire::Expect{}, &t));
  EXPECT_EQ(t.num_envs, 2u);
  actor.Signal(SIGTERM);
  EXPECT_EQ(actor.Wait(2.0), std::optional<int>(0));
}

}  // namespace
}  // namespace hoverslam

namespace hoverslam {
namespace {

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
