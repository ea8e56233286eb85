// The harness of the tests that run the real hoverslam-learner binary: its ports and start,
// two fake actors speaking protocol v2 (ready, grant, trajectory) over real ZeroMQ sockets,
// and readers of its /metrics and log.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "common/policy.h"
#include "common/protocol.h"
#include "common/rng.h"
#include "common/rocket_env.h"
#include "common/zmq_sockets.h"
#include "tests/support/process.h"

namespace hoverslam::testing {

constexpr uint32_t kT = 16, kN = 8;  // 128 transitions a message; the learner batches 256

struct Ports {
  int trajectory = testing::FreePort(), weights = testing::FreePort(),
      metrics = testing::FreePort();
};

// `extra` flags go after the common ones (each flag may be given once).
inline std::unique_ptr<Child> StartLearner(const Ports& ports, const std::string& checkpoints,
                                           const std::string& log,
                                           const std::vector<std::string>& extra = {
                                               "--checkpoint-every", "1000"}) {
  std::vector<std::string> argv{HOVERSLAM_LEARNER_BIN,
                                "--bind",
                                "127.0.0.1",
                                "--trajectory-port",
                                std::to_string(ports.trajectory),
                                "--weights-port",
                                std::to_string(ports.weights),
                                "--metrics-port",
                                std::to_string(ports.metrics),
                                "--health-timeout",
                                "1",
                                "--device",
                                "cpu",
                                "--threads",
                                "1",
                                "--batch-transitions",
                                "256",
                                "--max-policy-lag",
                                "1",
                                "--checkpoint-dir",
                                checkpoints,
                                "--republish-interval",
                                "0.1",
                                "--epochs",
                                "2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Child>(argv, log);
}

// Plays actors as protocol v2 has them: each asks (ready), waits for the learner's grant,
// then sends one trajectory. Actor kStranger never asks.
class FakeActors {
 public:
  static constexpr int kActors = 2, kStranger = kActors;

  explicit FakeActors(const Ports& ports)
      : sub_(MakeWeightsSub(ctx_, Endpoint("127.0.0.1", ports.weights), ZmqConfig{})) {
    for (int i = 0; i <= kStranger; ++i) {
      dealers_.push_back(
          MakeTrajectoryDealer(ctx_, Endpoint("127.0.0.1", ports.trajectory), ZmqConfig{}));
      // A learner that died must fail the test, not hang it on a full pipe.
      dealers_.back().set(zmq::sockopt::sndtimeo, 10000);
    }
    state_.resize(dealers_.size());
  }

  // Waits for weights newer than `after` (or any, first time); false on timeout.
  bool AwaitWeights(double timeout_s, int64_t after = -1) {
    return PollUntil(timeout_s, [&] {
      zmq::message_t m;
      while (sub_.recv(m, zmq::recv_flags::dontwait)) {
        wire::Weights w;
        if (!wire::Decode(m.data(), m.size(), wire::Limits{}, wire::Expect{}, &w)) continue;
        weights_ = w;
      }
      return !weights_.layers.empty() && static_cast<int64_t>(weights_.policy_version) > after;
    });
  }

  // Whether `actor` holds a grant, waiting up to `timeout_s` for one; sends a ready first
  // unless one is already out, as the real actor does.
  bool Granted(int actor, double timeout_s) {
    State& s = state_[actor];
    if (s.grant) return true;
    if (!s.asked) {
      std::vector<char> bytes;
      wire::Encode(wire::Ready{weights_.run, "rocket", "fake-" + std::to_string(actor),
                               weights_.policy_version, uint64_t{kT} * kN},
                   &bytes);
      s.asked = SendBytes(actor, bytes);
    }
    return PollUntil(timeout_s, [&] {
      zmq::message_t m;
      while (!s.grant && dealers_[actor].recv(m, zmq::recv_flags::dontwait)) {
        wire::Grant g;
        const wire::DecodeResult r =
            wire::Decode(m.data(), m.size(), wire::Limits{}, wire::Expect{}, &g);
        EXPECT_TRUE(r) << "a grant the protocol does not allow: " << r.message;
        if (r) s.grant = g;
      }
      if (s.grant) s.asked = false;
      return s.grant.has_value();
    });
  }
  // The first actor to hold a grant within `timeout_s`, or -1.
  int AnyGranted(double timeout_s) {
    int granted = -1;
    PollUntil(timeout_s, [&] {
      for (int a = 0; a < kActors && granted < 0; ++a) {
        if (Granted(a, 0)) granted = a;
      }
      return granted >= 0;
    });
    return granted;
  }
  const std::optional<wire::Grant>& grant(int actor) const { return state_[actor].grant; }

  wire::Trajectory Valid(int actor, uint64_t seed) const {
    wire::Trajectory t;
    t.run = weights_.run;
    t.actor = "fake-" + std::to_string(actor);
    t.policy_version = weights_.policy_version;
    t.Resize(kT, kN, kObsDim, kActDim);
    Rng rng(seed);
    for (size_t i = 0; i < t.obs.size(); i += kObsDim) {
      const float row[kObsDim] = {rng.Uniform(10, 70),      rng.Uniform(2, 40),
                                  rng.Uniform(-0.3f, 0.3f), rng.Uniform(-2, 2),
                                  rng.Uniform(-4, 1),       rng.Uniform(-0.2f, 0.2f)};
      std::copy(row, row + kObsDim, &t.obs[i]);
    }
    std::optional<Policy> policy = Policy::FromWeights(weights_, kObsDim, kActDim, nullptr);
    std::vector<Rng> rngs(kN, Rng(seed + 1));
    for (uint32_t s = 0; s < kT; ++s) {
      policy->Act(&t.obs[s * kN * kObsDim], kN, rngs.data(), false, &t.actions[s * kN * kActDim],
                  &t.logp[s * kN]);
    }
    for (float& r : t.rewards) r = rng.Uniform(-1, 1);
    std::fill(t.terminated.begin(), t.terminated.end(), 0);
    std::fill(t.truncated.begin(), t.truncated.end(), 0);
    t.terminated[5] = 1;
    t.episodes.push_back({-12.5f, 200, Outcome::kCrashed});
    return t;
  }

  // On-policy data with weights of at least the granted version, as the grant asks.
  bool SendValid(int actor, uint64_t seed) {
    const uint64_t version = grant(actor) ? grant(actor)->policy_version : 0;
    if (!AwaitWeights(10, static_cast<int64_t>(version) - 1)) return false;
    return Send(actor, Valid(actor, seed));
  }

  // Whether the learner took the message within the send timeout. Spends the actor's grant.
  bool Send(int actor, const wire::Trajectory& t) {
    std::vector<char> bytes;
    wire::Encode(t, &bytes);
    return SendBytes(actor, bytes);
  }
  bool SendBytes(int actor, const std::vector<char>& bytes) {
    state_[actor].grant.reset();
    return dealers_[actor].send(zmq::buffer(bytes), zmq::send_flags::none).has_value();
  }

  const wire::Weights& weights() const { return weights_; }

 private:
  struct State {
    bool asked = false;                // a ready is out, unanswered
    std::optional<wire::Grant> grant;  // held, not yet spent
  };

  zmq::context_t ctx_{1};
  zmq::socket_t sub_;
  std::vector<zmq::socket_t> dealers_;
  std::vector<State> state_;
  wire::Weights weights_;
};

// Sends on-policy data from every actor granted a rollout until the learner publishes a
// version above `after`; false if it does not within `timeout_s`.
inline bool TrainPast(FakeActors& actors, uint64_t after, uint64_t* seed, double timeout_s = 60) {
  return PollUntil(timeout_s, [&] {
    for (int a = 0; a < FakeActors::kActors; ++a) {
      if (actors.Granted(a, 0.05)) actors.SendValid(a, (*seed)++);
    }
    return actors.AwaitWeights(0.2, static_cast<int64_t>(after));
  });
}

// Sends `t` from the first actor granted a rollout: for faults only found after the grant
// is spent (stale, future, out of range). False when no grant came.
inline bool SendGranted(FakeActors& actors, const wire::Trajectory& t) {
  const int a = actors.AnyGranted(10);
  return a >= 0 && actors.Send(a, t);
}

inline double MetricValue(const std::string& metrics, const std::string& series) {
  const std::string line = "\n" + series + " ";  // a sample line, not a # HELP line
  const size_t at = metrics.find(line);
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + line.size()));
}

inline std::string Metrics(int port) { return testing::HttpGet(port, "/metrics").value_or(""); }

inline double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace hoverslam::testing
