// Wire protocol throughput: encode, decode+validate, and encode -> DEALER -> ROUTER ->
// decode over ipc://, plaintext and with CURVE, for one actor batch of T=128 steps x
// N=16 envs, against a memcpy of the same bytes; and the same with the credit flow's
// ready -> grant round trip before every trajectory, as one actor does it. Targets: 10 M
// decoded and 2 M end-to-end transitions/s.
#include <zmq.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "common/curve.h"
#include "common/protocol.h"
#include "common/rng.h"
#include "common/zap_authenticator.h"
#include "common/zmq_sockets.h"

namespace hoverslam::bench {
namespace {

constexpr uint32_t kSteps = 128, kEnvs = 16, kObsDim = 6, kActDim = 2;
constexpr int kRepeats = 7;
constexpr double kMinSeconds = 0.2;
constexpr double kDecodeTarget = 10e6, kIpcTarget = 2e6;

// Keeps the optimiser from dropping work whose result is otherwise unused.
inline void Touch(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// What an actor ships: rocket observations in SI units, Gaussian actions with
// their log-probabilities, shaped rewards, and a few episode ends (~1 in 300 steps).
wire::Trajectory RealisticTrajectory() {
  Rng rng(2024);
  wire::Trajectory m;
  m.run = "bench-run";
  m.actor = "hoverslam-actor-7f9c4-x2v8q";
  m.policy_version = 1234;
  m.Resize(kSteps, kEnvs, kObsDim, kActDim);
  for (size_t i = 0; i < m.obs.size(); i += kObsDim) {
    const float o[kObsDim] = {rng.Uniform(10.0f, 70.0f),   rng.Uniform(0.0f, 40.0f),
                              0.2f * rng.Normal(),         3.0f * rng.Normal(),
                              -5.0f + 3.0f * rng.Normal(), 0.5f * rng.Normal()};
    std::memcpy(&m.obs[i], o, sizeof(o));
  }
  for (float& a : m.actions) a = rng.Normal();
  for (size_t i = 0; i < m.logp.size(); ++i) {
    m.logp[i] = -1.84f - 0.5f * (m.actions[2 * i] * m.actions[2 * i] +
                                 m.actions[2 * i + 1] * m.actions[2 * i + 1]);
  }
  for (float& r : m.rewards) r = 0.1f * rng.Normal();
  for (size_t i = 0; i < m.terminated.size(); ++i) {
    const uint64_t u = rng.NextU64() % 300;
    m.terminated[i] = u == 0;
    m.truncated[i] = u == 1;
    if (u == 1) {
      m.final_idx.push_back(static_cast<uint32_t>(i));
      for (uint32_t d = 0; d < kObsDim; ++d) m.final_obs.push_back(rng.Uniform(0.0f, 40.0f));
    }
    if (u <= 1) {
      m.rewards[i] = u == 0 ? -100.0f : 0.0f;
      m.episodes.push_back({rng.Uniform(-150.0f, 250.0f),
                            1 + static_cast<uint32_t>(rng.NextU64() % 600),
                            u == 0 ? Outcome::kCrashed : Outcome::kTimeout});
    }
  }
  return m;
}

// Repeats `once` (which returns units done) for at least kMinSeconds; returns units.
template <typename Once>
double ForAtLeast(Once&& once) {
  const double t0 = Now();
  double units = 0;
  do {
    for (int i = 0; i < 16; ++i) units += once();
  } while (Now() - t0 < kMinSeconds);
  return units;
}

// Sends `bytes` on `socket` once it can; false when `stop` came first. Never blocks for long.
bool SendUnlessStopped(zmq::socket_t& socket, const std::vector<char>& bytes,
                       const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(50));
    if ((item.revents & ZMQ_POLLOUT) &&
        socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      return true;
    }
  }
  return false;
}

// Sends encoded copies of `msg` until `stop`. With `credit`, each one as an actor does: a
// ready, then the trajectory once the grant is in.
void Sender(zmq::context_t& ctx, const std::string& endpoint, const wire::Trajectory& msg,
            const CurveClient& curve, bool credit, const std::atomic<bool>& stop) {
  ZmqConfig config;
  config.linger_ms = 0;
  zmq::socket_t dealer = MakeTrajectoryDealer(ctx, endpoint, config, curve);
  const wire::Ready ready{msg.run, msg.env, msg.actor, msg.policy_version, msg.transitions()};
  std::vector<char> ready_bytes, bytes;
  wire::Encode(ready, &ready_bytes);
  wire::Grant grant;
  zmq::message_t answer;
  while (!stop.load(std::memory_order_relaxed)) {
    if (credit) {
      if (!SendUnlessStopped(dealer, ready_bytes, stop)) return;
      for (bool granted = false; !granted;) {
        zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(50));
        if (stop.load(std::memory_order_relaxed)) return;
        granted =
            dealer.recv(answer, zmq::recv_flags::dontwait) &&
            wire::Decode(answer.data(), answer.size(), wire::Limits{}, wire::Expect{}, &grant);
      }
    }
    wire::Encode(msg, &bytes);
    if (!SendUnlessStopped(dealer, bytes, stop)) return;
  }
}

// The end-to-end rate over `endpoint`: a sender thread encodes and sends without pause (or
// asks for each message first, with `credit`); this thread receives and decodes as the
// learner does, answering every ready with a grant. Each repeat measures the steady state.
double IpcRate(zmq::context_t& ctx, const std::string& endpoint, const wire::Trajectory& msg,
               const CurveServer& server, const CurveClient& client, bool credit) {
  const double transitions = static_cast<double>(msg.transitions());
  const wire::Limits limits;
  const wire::Expect expect{"bench-run", "rocket"};
  wire::ActorMessage decoded;
  std::vector<char> grant;
  wire::Encode(wire::Grant{msg.run, msg.env, msg.policy_version}, &grant);
  zmq::socket_t router = MakeTrajectoryRouter(ctx, endpoint, ZmqConfig{}, server);
  std::atomic<bool> stop{false};
  std::thread sender(Sender, std::ref(ctx), endpoint, std::cref(msg), client, credit,
                     std::cref(stop));
  zmq::message_t id, payload;
  auto receive_one = [&] {
    for (;;) {
      // [routing id, payload]: the frames of one message arrive together.
      if (!router.recv(id) || !router.recv(payload)) throw std::runtime_error("recv failed");
      if (!wire::Decode(payload.data(), payload.size(), limits, expect, &decoded)) {
        throw std::runtime_error("a received message does not decode");
      }
      if (decoded.type == wire::ActorMessage::Type::kTrajectory) return transitions;
      router.send(id, zmq::send_flags::sndmore);
      router.send(zmq::buffer(grant), zmq::send_flags::none);
    }
  };
  receive_one();  // connected
  const double rate = MedianRate(kRepeats, [&] { return ForAtLeast(receive_one); });
  stop = true;
  sender.join();
  router.set(zmq::sockopt::linger, 0);
  router.close();
  return rate;
}

void WriteKey(const std::string& path, const std::string& key, mode_t mode) {
  std::ofstream(path) << key << "\n";
  if (chmod(path.c_str(), mode) != 0) throw std::runtime_error("cannot chmod " + path);
}

int Main() {
  const wire::Trajectory msg = RealisticTrajectory();
  const double transitions = static_cast<double>(msg.transitions());
  std::vector<char> encoded;
  wire::Encode(msg, &encoded);
  const size_t message_bytes = encoded.size();

  std::vector<char> out;
  const double encode_rate = MedianRate(kRepeats, [&] {
    return ForAtLeast([&] {
      wire::Encode(msg, &out);
      Touch(out.data());
      return transitions;
    });
  });

  wire::ActorMessage decoded;  // as the learner's receiver decodes: a ready or a trajectory
  const wire::Limits limits;
  const wire::Expect expect{"bench-run", "rocket"};
  const double decode_rate = MedianRate(kRepeats, [&] {
    return ForAtLeast([&] {
      if (!wire::Decode(encoded.data(), encoded.size(), limits, expect, &decoded)) {
        throw std::runtime_error("the bench message does not decode");
      }
      Touch(decoded.trajectory.obs.data());
      return transitions;
    });
  });

  std::vector<char> copy(message_bytes);
  const double memcpy_rate = MedianRate(kRepeats, [&] {
    return ForAtLeast([&] {
      std::memcpy(copy.data(), encoded.data(), message_bytes);
      Touch(copy.data());
      return static_cast<double>(message_bytes);
    });
  });

  // End to end over ipc://, plaintext and then with CURVE (encryption, and the
  // learner's ZAP handler admitting the sender's key).
  char dir_template[] = "/tmp/hoverslam-bench-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::string dir = dir_template;
  zmq::context_t ctx;
  const double ipc_rate =
      IpcRate(ctx, "ipc://" + dir + "/plain.sock", msg, CurveServer{}, CurveClient{}, false);
  const double ipc_credit_rate =
      IpcRate(ctx, "ipc://" + dir + "/credit.sock", msg, CurveServer{}, CurveClient{}, true);
  const CurveKeyPair server_keys = NewCurveKeyPair(), client_keys = NewCurveKeyPair();
  std::filesystem::create_directory(dir + "/clients");
  WriteKey(dir + "/learner.key", server_keys.secret_key, 0600);
  WriteKey(dir + "/clients/actor.pub", client_keys.public_key, 0644);
  double ipc_curve_rate = 0;
  {
    ZapAuthenticator zap(ctx, CurveServerFiles{dir + "/learner.key", dir + "/clients"}, {});
    ipc_curve_rate = IpcRate(
        ctx, "ipc://" + dir + "/curve.sock", msg, zap.Server("bench"),
        CurveClient{server_keys.public_key, client_keys.secret_key, client_keys.public_key}, false);
  }
  std::filesystem::remove_all(dir);

  std::printf(
      "wire protocol, one trajectory of T=%u x N=%u (%.0f transitions, D=%u, A=%u): %zu bytes\n",
      kSteps, kEnvs, transitions, kObsDim, kActDim, message_bytes);
  std::printf("%-36s %16s %12s\n", "", "transitions/s", "MB/s");
  const auto row = [&](const char* name, double rate) {
    std::printf("%-36s %16.3e %12.1f\n", name, rate, rate / transitions * message_bytes / 1e6);
  };
  row("encode", encode_rate);
  row("decode + validate", decode_rate);
  row("encode->DEALER->ROUTER->decode ipc", ipc_rate);
  row("  the same with CURVE", ipc_curve_rate);
  row("  one actor: ready, grant, then it", ipc_credit_rate);
  std::printf("%-36s %16s %12.1f\n", "memcpy (baseline)", "", memcpy_rate / 1e6);
  std::printf("decode %.2fx of its 10 M/s target, ipc %.2fx of its 2 M/s target (median of %d)\n",
              decode_rate / kDecodeTarget, ipc_rate / kIpcTarget, kRepeats);
  std::printf("CURVE ipc runs at %.2fx plaintext ipc (%.2fx of the 2 M/s target)\n",
              ipc_curve_rate / ipc_rate, ipc_curve_rate / kIpcTarget);
  std::printf("one actor's ready/grant round trip per trajectory: %.2fx plaintext ipc\n",
              ipc_credit_rate / ipc_rate);
  std::printf(
      "{\"bench\":\"protocol\",\"encode_transitions_per_s\":%.0f,\"decode_transitions_per_s\":%.0f,"
      "\"ipc_transitions_per_s\":%.0f,\"ipc_curve_transitions_per_s\":%.0f,"
      "\"ipc_credit_transitions_per_s\":%.0f,"
      "\"memcpy_bytes_per_s\":%.0f,\"message_bytes\":%zu,\"decode_vs_target\":%.3f,"
      "\"ipc_vs_target\":%.3f,\"curve_vs_plain\":%.3f,\"credit_vs_plain\":%.3f}\n",
      encode_rate, decode_rate, ipc_rate, ipc_curve_rate, ipc_credit_rate, memcpy_rate,
      message_bytes, decode_rate / kDecodeTarget, ipc_rate / kIpcTarget, ipc_curve_rate / ipc_rate,
      ipc_credit_rate / ipc_rate);
  return 0;
}

}  // namespace
}  // namespace hoverslam::bench

int main() { return hoverslam::bench::Main(); }
