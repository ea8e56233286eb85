// PPO update throughput of the Trainer (build the batch, GAE, epochs x minibatches, adaptive
// lr, normaliser) against a bare loop of the same forward + backward + Adam steps on random
// tensors, in one run, for the default 64-64 tanh model and a 512-256-128 ELU one. The ratio
// is the share of the raw training cost the learner keeps; what it loses is its overhead.
//
//   bench_learner [--device cpu|cuda] [--threads N] [--repeats R] [--envs N] [--small-only]
//                 [--mirror]
//
// --mirror trains on each sample's mirror image too, as the learner does by default.
//
// The bare loop takes as many steps, of minibatches as large, as the update does with
// PpoConfig's defaults (epochs x minibatches). bench/learner_vs_python runs the small model
// against bench/ppo_peer.py, the same update written in Python.
//
// Each message is T=128 steps of --envs N envs (default 16); the message count keeps an update
// at 16,384 transitions (8 messages at N=16, 128 at N=1).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench/bench_util.h"
#include "common/rocket_mirror.h"
#include "learner/trainer.h"

using namespace hoverslam;
using namespace hoverslam::learner;

namespace {

constexpr int kObsDim = 6;
constexpr int kActDim = 2;
constexpr uint32_t kSteps = 128;         // T per message
constexpr int64_t kTransitions = 16384;  // per update: e.g. 8 messages x T 128 x N 16

struct Options {
  std::string device = "cpu";
  int threads = 0;  // 0: LibTorch's default
  int repeats = 3;
  uint32_t envs = 16;       // N per message; 16,384 / (128 N) messages
  bool small_only = false;  // skip the 512-256-128 model
  bool mirror = false;      // train on each sample's mirror image too, as the learner does
};

// Rocket-like messages: observations around the spawn region, actions sampled from the
// initial policy with their true log-probability, ~1% terminated and ~0.5% truncated steps.
std::vector<wire::Trajectory> MakeMessages(uint32_t envs, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;
  const float scale[kObsDim] = {30.f, 5.f, 0.2f, 2.f, 2.f, 0.1f};
  const float offset[kObsDim] = {40.f, 35.f, 0.f, 0.f, -1.f, 0.f};
  const float log_std = -0.5f, sigma = std::exp(log_std);
  std::vector<wire::Trajectory> messages(kTransitions / (kSteps * envs));
  for (wire::Trajectory& m : messages) {
    m.run = "bench";
    m.actor = "bench-actor";
    m.Resize(kSteps, envs, kObsDim, kActDim);
    for (size_t i = 0; i < m.obs.size(); ++i) {
      m.obs[i] = offset[i % kObsDim] + scale[i % kObsDim] * normal(rng);
    }
    for (size_t i = 0; i < m.logp.size(); ++i) {
      float logp = 0;
      for (int j = 0; j < kActDim; ++j) {
        const float z = normal(rng);
        m.actions[i * kActDim + j] = sigma * z;
        logp += -0.5f * z * z - log_std - 0.9189385f;
      }
      m.logp[i] = logp;
      m.rewards[i] = 0.1f * normal(rng);
      const float u = uniform(rng);
      if (u < 0.01f) {
        m.terminated[i] = 1;
        m.rewards[i] += u < 0.005f ? 10.f : -10.f;
      } else if (u < 0.015f) {
        m.truncated[i] = 1;
        m.final_idx.push_back(static_cast<uint32_t>(i));
        for (int d = 0; d < kObsDim; ++d) {
          m.final_obs.push_back(offset[d] + scale[d] * normal(rng));
        }
      }
    }
  }
  return messages;
}

struct Result {
  double samples_per_s = 0;      // Trainer::Update: transitions x epochs per second
  double raw_samples_per_s = 0;  // bare loop: minibatch rows x steps per second
  double ratio = 0;              // median over repeats of trainer / neighbouring raw rate
  double build_ms = 0;           // Trainer::BuildBatch alone
};

double Sync(const torch::Tensor& t) { return t.item<double>(); }  // waits for the device

// `steps` of forward (policy and critic) + backward + Adam on random minibatches.
double RawLoop(ActorCritic& model, torch::optim::Adam& optimizer,
               const std::vector<torch::Tensor>& obs, const std::vector<torch::Tensor>& target_a,
               const std::vector<torch::Tensor>& target_v, int steps) {
  torch::Tensor loss;
  for (int step = 0; step < steps; ++step) {
    const size_t k = step % obs.size();
    loss = (model->Mean(obs[k]) - target_a[k]).square().mean() +
           (model->Value(obs[k]) - target_v[k]).square().mean();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  return Sync(loss);
}

Result Measure(const PpoConfig& config, torch::Device device, const Options& options) {
  const std::vector<wire::Trajectory> messages = MakeMessages(options.envs, 7);

  torch::manual_seed(1);
  Trainer trainer(
      kObsDim, kActDim, config, device,
      options.mirror ? std::optional(RocketMirror(RocketPhysicsConfig{})) : std::nullopt);
  // With the mirror every update trains on twice the rows; the rates count trained rows, and the
  // bare loop takes minibatches as large, so the ratio compares the same work.
  const int64_t rows = (options.mirror ? 2 : 1) * kTransitions;
  // Bare loop: the same model shape and Adam settings, but nothing but the optimiser steps.
  ActorCritic raw_model(kObsDim, kActDim, config);
  raw_model->to(device);
  torch::optim::Adam raw_optimizer(raw_model->parameters(),
                                   torch::optim::AdamOptions(config.lr).eps(1e-5));
  const auto opts = torch::TensorOptions().device(device);
  const int raw_steps = config.epochs * config.minibatches;
  const int64_t minibatch = rows / config.minibatches;
  std::vector<torch::Tensor> obs, target_a, target_v;
  for (int k = 0; k < config.minibatches; ++k) {
    obs.push_back(torch::randn({minibatch, kObsDim}, opts));
    target_a.push_back(torch::randn({minibatch, kActDim}, opts));
    target_v.push_back(torch::randn({minibatch}, opts));
  }
  const auto raw = [&] {
    const double t0 = bench::Now();
    RawLoop(raw_model, raw_optimizer, obs, target_a, target_v, raw_steps);
    return double(raw_steps) * minibatch / (bench::Now() - t0);
  };

  // Warm-up: allocator pools, Adam state, lazy initialisation.
  trainer.Update(messages);
  RawLoop(raw_model, raw_optimizer, obs, target_a, target_v, raw_steps);

  // raw, update, raw, update, ..., raw: each update's ratio is against the mean of the raw
  // runs either side of it, so load elsewhere on the machine mostly cancels.
  std::vector<double> rates, raw_rates{raw()}, ratios, build_ms;
  for (int r = 0; r < options.repeats; ++r) {
    double t0 = bench::Now();
    trainer.Update(messages);  // ends in .item() reads, so the device is done
    rates.push_back(double(rows) * config.epochs / (bench::Now() - t0));
    raw_rates.push_back(raw());
    ratios.push_back(rates.back() / (0.5 * (raw_rates[r] + raw_rates[r + 1])));

    t0 = bench::Now();
    const Batch batch = trainer.BuildBatch(messages);
    Sync(batch.returns.sum());
    build_ms.push_back(1e3 * (bench::Now() - t0));
  }
  return {bench::Median(rates), bench::Median(raw_rates), bench::Median(ratios),
          bench::Median(build_ms)};
}

Options Parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--device") && has_value) {
      options.device = argv[++i];
    } else if (!std::strcmp(argv[i], "--threads") && has_value) {
      options.threads = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--repeats") && has_value) {
      options.repeats = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--small-only")) {
      options.small_only = true;
    } else if (!std::strcmp(argv[i], "--mirror")) {
      options.mirror = true;
    } else if (!std::strcmp(argv[i], "--envs") && has_value) {
      options.envs = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--device cpu|cuda] [--threads N] [--repeats R>=3] [--envs N] "
                   "[--small-only] [--mirror]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (options.device != "cpu" && options.device != "cuda") {
    std::fprintf(stderr, "--device must be cpu or cuda\n");
    std::exit(2);
  }
  if (options.device == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "--device cuda: this LibTorch build sees no CUDA device\n");
    std::exit(2);
  }
  if (options.envs < 1 || (kTransitions / kSteps) % options.envs != 0) {
    std::fprintf(stderr, "--envs must divide 128\n");
    std::exit(2);
  }
  if (options.repeats < 3) options.repeats = 3;  // a median of fewer says little
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = Parse(argc, argv);
  if (options.threads > 0) torch::set_num_threads(options.threads);
  const torch::Device device(options.device == "cuda" ? torch::kCUDA : torch::kCPU);

  PpoConfig small;  // defaults: 64-64 tanh, 10 epochs x 8 minibatches
  PpoConfig large;
  large.hidden = {512, 256, 128};
  large.activation = wire::Activation::kElu;

  const Result s = Measure(small, device, options);
  const Result l = options.small_only ? Result{} : Measure(large, device, options);

  std::printf(
      "PPO update, %lld x (T=%u, N=%u) = %lld transitions, %d epochs x %d minibatches, %s, "
      "%d threads, median of %d%s\n",
      static_cast<long long>(kTransitions / (kSteps * options.envs)), kSteps, options.envs,
      static_cast<long long>(kTransitions), small.epochs, small.minibatches, options.device.c_str(),
      torch::get_num_threads(), options.repeats,
      options.mirror ? ", with the mirror (rates count mirrored rows)" : "");
  std::printf("%-18s %14s %14s %7s %14s\n", "model", "trainer smp/s", "raw smp/s", "ratio",
              "BuildBatch ms");
  std::printf("%-18s %14.0f %14.0f %7.2f %14.1f\n", "64-64 tanh", s.samples_per_s,
              s.raw_samples_per_s, s.ratio, s.build_ms);
  if (!options.small_only) {
    std::printf("%-18s %14.0f %14.0f %7.2f %14.1f\n", "512-256-128 elu", l.samples_per_s,
                l.raw_samples_per_s, l.ratio, l.build_ms);
  }
  std::printf("peak RSS %.0f MB\n", bench::PeakRssMb());
  // The large model's figures are null when it was not measured.
  const auto or_null = [&](double v, const char* fmt) {
    char text[32] = "null";
    if (!options.small_only) std::snprintf(text, sizeof text, fmt, v);
    return std::string(text);
  };
  std::printf(
      "{\"bench\":\"learner\",\"device\":\"%s\",\"threads\":%d,\"samples_per_s_small\":%.0f,"
      "\"samples_per_s_large\":%s,\"ratio_small_vs_raw\":%.3f,\"ratio_large_vs_raw\":%s,"
      "\"build_ms_small\":%.1f,\"peak_rss_mb\":%.1f,\"mirror\":%s}\n",
      options.device.c_str(), torch::get_num_threads(), s.samples_per_s,
      or_null(l.samples_per_s, "%.0f").c_str(), s.ratio, or_null(l.ratio, "%.3f").c_str(),
      s.build_ms, bench::PeakRssMb(), options.mirror ? "true" : "false");
  return 0;
}
