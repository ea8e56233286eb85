#include "learner/learner.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <vector>

#include "learner/checkpoint.h"
#include "learner/publisher.h"
#include "learner/receiver.h"
#include "learner/trainer.h"

namespace hoverslam::learner {
namespace {

constexpr int kObsDim = 6, kActDim = 2;  // the rocket task

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

torch::Device ResolveDevice(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "cuda" && !cuda) {
    throw std::runtime_error("--device cuda, but LibTorch sees no CUDA device (use auto or cpu)");
  }
  return (name == "cuda" || (name == "auto" && cuda)) ? torch::Device(torch::kCUDA)
                                                      : torch::Device(torch::kCPU);
}

std::string NewRunId() {
  std::random_device rd;
  char id[16];
  std::snprintf(id, sizeof(id), "%08x", rd());
  return id;
}

std::string BindEndpoint(const std::string& explicit_endpoint, const std::string& bind, int port) {
  return explicit_endpoint.empty() ? Endpoint(bind, port) : explicit_endpoint;
}

}  // namespace

struct Learner::Impl {
  LearnerConfig config;
  torch::Device device;
  std::unique_ptr<Trainer> trainer;
  TrainingState state;
  uint64_t last_checkpoint = 0;
  MetricsServer metrics_server;
  LearnerMetrics metrics;
  zmq::context_t ctx{1};
  TrajectoryQueue queue;
  std::unique_ptr<Receiver> receiver;
  std::unique_ptr<Publisher> publisher;

  explicit Impl(const LearnerConfig& c)
      : config(c),
        device(ResolveDevice(c.device)),
        metrics_server(c.metrics_port, c.health_timeout_s),
        metrics(metrics_server),
        queue(c.queue_capacity) {
    if (c.threads > 0) torch::set_num_threads(c.threads);
    torch::manual_seed(c.seed);
    trainer = std::make_unique<Trainer>(kObsDim, kActDim, c.ppo, device);
    Restore();
    ReceiverOptions options{BindEndpoint(c.trajectory_endpoint, c.bind, c.trajectory_port), c.zmq,
                            c.limits, state.run, c.max_policy_lag};
    receiver = std::make_unique<Receiver>(ctx, options, &queue, &metrics);
    receiver->SetVersion(state.version);
    publisher =
        std::make_unique<Publisher>(ctx, BindEndpoint(c.weights_endpoint, c.bind, c.weights_port),
                                    c.zmq, c.republish_s, &metrics);
    PublishWeights();
    spdlog::info("learner run {} on {}, version {}, trajectories on {}, weights on {}", state.run,
                 device.str(), state.version, options.endpoint,
                 BindEndpoint(c.weights_endpoint, c.bind, c.weights_port));
  }

  void Restore() {
    if (!config.checkpoint_dir.empty()) {
      if (std::optional<TrainingState> loaded =
              LoadNewestCheckpoint(config.checkpoint_dir, trainer.get())) {
        state = *loaded;
        last_checkpoint = state.version;
      } else if (!ListCheckpoints(config.checkpoint_dir).empty()) {
        spdlog::error("no checkpoint in {} could be read; starting a new run",
                      config.checkpoint_dir);
        trainer = std::make_unique<Trainer>(kObsDim, kActDim, config.ppo, device);
      }
    }
    if (!config.run_id.empty()) state.run = config.run_id;
    if (state.run.empty()) state.run = NewRunId();
  }

  void PublishWeights() {
    std::vector<char> bytes;
    wire::Encode(trainer->Export(state.version, state.run, config.env), &bytes);
    publisher->Publish(std::move(bytes));
    metrics.policy_version.Set(static_cast<double>(state.version));
  }

  void Checkpoint() {
    if (config.checkpoint_dir.empty() || last_checkpoint == state.version) return;
    // A failed write (full disk, lost volume) is reported and training goes on; the
    // previous checkpoint is still whole, and the next interval tries again.
    try {
      const std::string path =
          SaveCheckpoint(config.checkpoint_dir, *trainer, state, config.keep_checkpoints);
      last_checkpoint = state.version;
      metrics.checkpoints_written.Increment();
      spdlog::info("checkpoint {}", path);
    } catch (const std::exception& e) {
      metrics.checkpoint_failures.Increment();
      spdlog::error("checkpoint of version {} failed: {}", state.version,
                    std::string(e.what()).substr(0, 300));
    }
  }

  // Takes whole messages until the batch holds at least batch_transitions; data
  // that went stale while queued is dropped and counted.
  bool Collect(const std::atomic<bool>& stop, std::vector<wire::Trajectory>* batch,
               double* mean_lag, uint64_t* max_lag) {
    int64_t transitions = 0;
    double lag_sum = 0;
    *max_lag = 0;
    while (transitions < config.batch_transitions) {
      if (stop.load()) return false;
      // Waiting for data is progress (starved, not stuck), unless nothing can arrive.
      if (!receiver->failed()) metrics_server.heartbeat().Beat();
      std::optional<wire::Trajectory> t = queue.Pop(std::chrono::milliseconds(100));
      metrics.queue_depth.Set(static_cast<double>(queue.size()));
      metrics.actors_seen.Set(receiver->ActorsSeen(60.0));
      if (!t) continue;
      if (wire::CheckPolicyVersion(t->policy_version, state.version, config.max_policy_lag) !=
          wire::Reject::kNone) {
        metrics.rejected[static_cast<int>(wire::Reject::kStale)]->Increment();
        continue;
      }
      const uint64_t lag = state.version - t->policy_version;
      metrics.policy_lag.Observe(static_cast<double>(lag));
      lag_sum += static_cast<double>(lag);
      *max_lag = std::max(*max_lag, lag);
      transitions += static_cast<int64_t>(t->transitions());
      batch->push_back(std::move(*t));
    }
    *mean_lag = lag_sum / static_cast<double>(batch->size());
    return true;
  }

  std::string Run(const std::atomic<bool>& stop) {
    std::string reason = "signal";
    std::vector<wire::Trajectory> batch;
    while (true) {
      if (config.max_versions > 0 && state.version >= config.max_versions) {
        reason = "max_versions";
        break;
      }
      if (config.max_env_steps > 0 && state.env_steps >= config.max_env_steps) {
        reason = "max_env_steps";
        break;
      }
      batch.clear();
      double mean_lag = 0;
      uint64_t max_lag = 0;
      if (!Collect(stop, &batch, &mean_lag, &max_lag)) break;
      const double t0 = Now();
      const UpdateStats s = trainer->Update(batch);
      const double seconds = Now() - t0;
      metrics_server.heartbeat().Beat();
      ++state.version;
      state.env_steps += static_cast<uint64_t>(s.transitions);
      receiver->SetVersion(state.version);
      PublishWeights();
      Record(s, seconds);
      spdlog::info(
          "version {} | {} transitions in {} msgs | lag mean {:.2f} max {} | pg {:.4f} v {:.4f} "
          "ent {:.3f} | kl {:.4f} clip {:.3f} ev {:.3f} | lr {:.2e} | update {:.0f} ms | "
          "env steps {}",
          state.version, s.transitions, batch.size(), mean_lag, max_lag, s.pg_loss, s.v_loss,
          s.entropy, s.approx_kl, s.clipfrac, s.explained_var, s.lr, seconds * 1e3,
          state.env_steps);
      if (state.version % config.checkpoint_every == 0) Checkpoint();
    }
    Checkpoint();
    spdlog::info("learner stopping ({}) at version {}", reason, state.version);
    return reason;
  }

  void Record(const UpdateStats& s, double seconds) {
    metrics.update_duration.Observe(seconds);
    metrics.env_steps_trained.Increment(static_cast<double>(s.transitions));
    metrics.pg_loss.Set(s.pg_loss);
    metrics.v_loss.Set(s.v_loss);
    metrics.entropy.Set(s.entropy);
    metrics.approx_kl.Set(s.approx_kl);
    metrics.clipfrac.Set(s.clipfrac);
    metrics.explained_var.Set(s.explained_var);
    metrics.learning_rate.Set(s.lr);
  }
};

Learner::Learner(const LearnerConfig& config) {
  config.Validate();
  impl_ = std::make_unique<Impl>(config);
}

Learner::~Learner() = default;

std::string Learner::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }

}  // namespace hoverslam::learner
