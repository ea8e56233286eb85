// The real hoverslam-actor binary against this test playing the learner over
// real ZeroMQ sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "common/policy.h"
#include "common/protocol.h"
#include "common/zmq_sockets.h"
#include "tests/actor/actor_test_util.h"
#include "tests/support/granting_sink.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

using testing::Child;
using testing::FreePort;
using testing::HttpGet;
using testing::MakeWeights;
using testing::PollUntil;

constexpr uint32_t kT = 8, kN = 4;

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
