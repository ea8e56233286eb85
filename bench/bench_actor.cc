// Steps/s of the whole actor loop (ready -> grant + env + normalise + forward + sample +
// rollout + encode + send over ipc:// to a sink that grants every ready at once and counts),
// against stepping the same VecEnv alone, in one run; and this process's peak RSS.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "actor/actor.h"
#include "bench/bench_util.h"
#include "common/rng.h"
#include "tests/support/granting_sink.h"

using namespace hoverslam;

namespace {

constexpr int kRepeats = 5;
constexpr int kT = 128;

wire::Weights RandomWeights() {
  Rng rng(1);
  wire::Weights w;
  w.run = "bench";
  w.policy_version = 1;
  w.obs_dim = kObsDim;
  w.act_dim = kActDim;
  uint32_t in = kObsDim;
  for (uint32_t out : {64u, 64u, uint32_t{kActDim}}) {
    wire::Layer l{in, out, std::vector<float>(out * in), std::vector<float>(out)};
    for (float& x : l.w) x = rng.Normal() / std::sqrt(float(in));
    w.layers.push_back(l);
    in = out;
  }
  w.log_std.assign(kActDim, -0.5f);
  w.obs_mean = {40, 30, 0, 0, -1, 0};
  w.obs_var = {300, 50, 0.05f, 2, 2, 0.1f};
  return w;
}

// One actor run of `messages` trajectories; steps/s measured at the sink between
// the first and the last message, so start-up is excluded.
double ActorLoop(int num_envs, int messages) {
  const std::string dir = "/tmp/hoverslam-bench-" + std::to_string(getpid());
  const std::string traj = "ipc://" + dir + "-traj", weights = "ipc://" + dir + "-weights";
  zmq::context_t ctx(1);
  testing::GrantingSink sink(ctx, traj);  // from here on, the sink thread's only
  zmq::socket_t pub = MakeWeightsPub(ctx, weights, ZmqConfig{});
  std::atomic<bool> stop{false};
  double first = 0, last = 0;
  std::thread sink_thread([&] {
    for (int i = 0; i < messages; ++i) {
      if (!sink.Receive(60.0)) break;
      (i == 0 ? first : last) = bench::Now();
    }
  });
  std::vector<char> bytes;
  wire::Encode(RandomWeights(), &bytes);
  std::thread publisher([&] {
    while (!stop.load()) {
      pub.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the learner re-publishes too
    }
  });
  ActorConfig config;
  config.learner = traj;
  config.weights_endpoint = weights;
  config.num_envs = num_envs;
  config.steps_per_message = kT;
  config.actor_id = "bench";
  config.metrics_port = 0;
  config.max_messages = messages;
  MetricsServer metrics(0);
  {
    Actor actor(config, metrics);
    actor.Run(stop);
  }
  sink_thread.join();
  stop = true;
  publisher.join();
  return double(messages - 1) * kT * num_envs / (last - first);
}

double EnvOnly(int num_envs, int steps) {
  VecEnv env(RocketConfig{}, num_envs, 1);
  Rng rng(2);
  std::vector<float> actions(256 * num_envs * kActDim);
  for (float& a : actions) a = rng.Normal();
  return bench::MedianRate(kRepeats, [&] {
    for (int i = 0; i < steps; ++i) env.Step(&actions[(i % 256) * num_envs * kActDim]);
    return double(steps) * num_envs;
  });
}

double MedianOf(int repeats, const std::function<double()>& f) {
  std::vector<double> v;
  for (int i = 0; i < repeats; ++i) v.push_back(f());
  return bench::Median(v);
}

}  // namespace

int main() {
  const double n16 = MedianOf(kRepeats, [] { return ActorLoop(16, 150); });
  const double n64 = MedianOf(kRepeats, [] { return ActorLoop(64, 40); });
  const double env16 = EnvOnly(16, 20000);
  const double env64 = EnvOnly(64, 5000);
  const double rss = bench::PeakRssMb();
  std::printf("%-40s %14s %14s %8s\n", "case (median of 5, T=128)", "actor steps/s", "env-only/s",
              "ratio");
  std::printf("%-40s %14.0f %14.0f %8.3f\n", "N=16, 6-64-64-2 tanh", n16, env16, n16 / env16);
  std::printf("%-40s %14.0f %14.0f %8.3f\n", "N=64, 6-64-64-2 tanh", n64, env64, n64 / env64);
  std::printf("peak RSS %.1f MB (whole bench process: actor, sink and publisher)\n", rss);
  std::printf("targets: n16 >= 150000 steps/s, ratio_n16 >= 0.6, peak RSS <= 30 MB\n");
  std::printf(
      "{\"bench\":\"actor\",\"steps_per_s_n16\":%.0f,\"steps_per_s_n64\":%.0f,"
      "\"env_only_steps_per_s_n16\":%.0f,\"env_only_steps_per_s_n64\":%.0f,\"ratio_n16\":%.3f,"
      "\"ratio_n64\":%.3f,\"peak_rss_mb\":%.1f,\"n16_vs_target\":%.3f}\n",
      n16, n64, env16, env64, n16 / env16, n64 / env64, rss, n16 / 150000.0);
  return 0;
}
