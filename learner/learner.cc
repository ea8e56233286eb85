#include "learner/learner.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <vector>

#include "common/build_info.h"
#include "common/env_registry.h"
#include "common/zap_authenticator.h"
#include "learner/checkpoint.h"
#include "learner/publisher.h"
#include "learner/receiver.h"
#include "learner/trainer.h"

namespace hoverslam::learner {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
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

// Adds the time from construction to destruction to a phase's counter. Not thread-safe: one
// scope on one thread.
class PhaseTimer {
 public:
  PhaseTimer(LearnerMetrics* metrics, UpdatePhase phase)
      : counter_(metrics->phase_seconds[static_cast<size_t>(phase)]), started_(Now()) {}
  ~PhaseTimer() { counter_->Increment(Now() - started_); }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  prometheus::Counter* counter_;
  double started_;
};

}  // namespace

struct Learner::Impl {
  LearnerConfig config;
  torch::Device device;
  std::unique_ptr<Trainer> trainer;
  TrainingState state;
  EnvSpec spec;  // the env trained, from the registry
  uint64_t last_checkpoint = 0;
  // Made after the restore, so the first scrape already shows the restored version.
  std::unique_ptr<MetricsServer> metrics_server;
  std::unique_ptr<LearnerMetrics> metrics;
  // Unix time of the newest checkpoint written; the learner's start until the first (a
  // restored state is on disk already). Null when checkpoints are off, so no series claims an
  // age it does not have.
  prometheus::Gauge* last_checkpoint_time = nullptr;
  zmq::context_t ctx{1};
  std::unique_ptr<ZapAuthenticator> zap;  // CURVE: before the sockets it guards; null if off
  TrajectoryQueue queue;
  VersionFloor version_floor;  // versions at or above it were never published
  std::unique_ptr<Receiver> receiver;
  std::unique_ptr<Publisher> publisher;

  explicit Impl(const LearnerConfig& c)
      : config(c),
        device(ResolveDevice(c.device)),
        queue(c.queue_capacity),
        version_floor(c.checkpoint_dir) {
    if (c.threads > 0) torch::set_num_threads(c.threads);
    torch::manual_seed(c.seed);
    // The env's shapes and symmetry; the learner never steps it, so its --env-* settings
    // (the actors') do not matter here.
    const EnvEntry& env = FindEnv(c.env);
    spec = env.spec(EnvOptions{});
    trainer = std::make_unique<Trainer>(spec.obs_dim, spec.act_dim, c.ppo, device,
                                        c.ppo.mirror ? env.mirror(EnvOptions{}) : std::nullopt);
    Restore();
    metrics_server =
        std::make_unique<MetricsServer>(c.metrics_port, c.health_timeout_s, c.metrics_bind);
    RegisterBuildInfo(*metrics_server, "learner");
    metrics = std::make_unique<LearnerMetrics>(*metrics_server, c.max_policy_lag, spec);
    metrics->policy_version.Set(static_cast<double>(state.version));
    metrics->learning_rate.Set(trainer->lr());  // the restored or initial lr, before an update
    if (c.ppo.lr_anneal && c.ppo.adaptive_lr) {
      spdlog::warn("--lr-anneal applies to a fixed lr; with --adaptive-lr true the KL sets it");
    } else if (c.ppo.lr_anneal && c.max_env_steps == 0) {
      spdlog::warn("--lr-anneal: no --max-env-steps to anneal over, so the lr stays {}", c.ppo.lr);
    }
    if (!c.checkpoint_dir.empty()) {
      last_checkpoint_time = &metrics_server->Gauge(
          "hoverslam_learner_last_checkpoint_timestamp_seconds",
          "Unix time of the newest checkpoint written; the learner's start until its first "
          "(a restored state is on disk already).");
      last_checkpoint_time->Set(UnixNow());
    }
    zap = MakeZapAuthenticator(ctx, c.curve, *metrics_server, "hoverslam_learner");
    ReceiverOptions options;
    options.endpoint = BindEndpoint(c.trajectory_endpoint, c.bind, c.trajectory_port);
    options.zmq = c.zmq;
    options.limits = c.limits;
    options.run = state.run;
    options.max_policy_lag = c.max_policy_lag;
    options.obs_dim = spec.obs_dim;
    options.act_dim = spec.act_dim;
    options.curve = ServerCurve(zap.get(), "trajectories");
    options.env = c.env;
    options.credits.target_transitions = static_cast<uint64_t>(c.batch_transitions);
    options.credits.grant_timeout_s = c.grant_timeout_s;
    receiver = std::make_unique<Receiver>(ctx, options, &queue, metrics.get());
    receiver->SetVersion(state.version);
    publisher = std::make_unique<Publisher>(
        ctx, BindEndpoint(c.weights_endpoint, c.bind, c.weights_port), c.zmq, c.republish_s,
        metrics.get(), ServerCurve(zap.get(), "weights"));
    // At start-up a checkpoint directory that cannot take the version floor is fatal.
    if (!PublishWeights()) throw std::runtime_error("the restored weights cannot be published");
    spdlog::info("learner run {} on {}, version {}, trajectories on {}, weights on {}", state.run,
                 device.str(), state.version, options.endpoint,
                 BindEndpoint(c.weights_endpoint, c.bind, c.weights_port));
  }

  void Restore() {
    std::optional<uint64_t> restored;
    if (!config.checkpoint_dir.empty()) {
      if (std::optional<TrainingState> loaded =
              LoadNewestCheckpoint(config.checkpoint_dir, trainer.get(), config.env)) {
        state = *loaded;
        restored = state.version;
        last_checkpoint = state.version;
      } else if (!ListCheckpoints(config.checkpoint_dir).empty()) {
        spdlog::error("no checkpoint in {} could be read; starting a new run",
                      config.checkpoint_dir);
      }
    }
    // A restart from an older checkpoint continues above every version published before.
    state.version = version_floor.Resume(restored);
    if (restored && state.version != *restored) {
      spdlog::info("versions up to {} may have been published: checkpoint {} continues as {}",
                   version_floor.floor() - 1, *restored, state.version);
    }
    if (!config.run_id.empty()) state.run = config.run_id;
    if (state.run.empty()) state.run = NewRunId();
    state.env = config.env;
  }

  // Publishes the trainer's weights as state.version, unless actors would refuse them or
  // the version cannot first be reserved; returns whether it did.
  bool PublishWeights() {
    const PhaseTimer timer(metrics.get(), UpdatePhase::kPublish);
    std::vector<char> bytes;
    wire::Encode(trainer->Export(state.version, state.run, config.env), &bytes);
    // The trainer never keeps a state that fails this; checked as actors will check it.
    wire::Weights decoded;
    const wire::DecodeResult r =
        wire::Decode(bytes.data(), bytes.size(), config.limits,
                     wire::Expect{state.run, config.env, static_cast<uint32_t>(spec.obs_dim),
                                  static_cast<uint32_t>(spec.act_dim)},
                     &decoded);
    if (!r) {
      spdlog::error("not publishing version {}: actors would refuse it ({}: {})", state.version,
                    wire::RejectName(r.reason), r.message);
      return false;
    }
    try {
      version_floor.Reserve(state.version);
    } catch (const std::exception& e) {
      // Published without a durable floor, the version could be re-used after a crash.
      metrics->checkpoint_failures.Increment();
      spdlog::error("not publishing version {}: {}", state.version, e.what());
      return false;
    }
    // The gauge first: whoever has received a version reads at least it from /metrics.
    metrics->policy_version.Set(static_cast<double>(state.version));
    publisher->Publish(std::move(bytes));
    return true;
  }

  void Checkpoint() {
    if (config.checkpoint_dir.empty() || last_checkpoint == state.version) return;
    const PhaseTimer timer(metrics.get(), UpdatePhase::kCheckpoint);
    if (std::optional<std::string> problem = trainer->Problem()) {
      metrics->checkpoint_failures.Increment();
      spdlog::error("not checkpointing version {}: {}", state.version, *problem);
      return;
    }
    // A failed write (full disk, lost volume) is reported and training goes on; the
    // previous checkpoint is still whole, and the next interval tries again.
    try {
      const std::string path =
          SaveCheckpoint(config.checkpoint_dir, *trainer, state, config.keep_checkpoints);
      last_checkpoint = state.version;
      metrics->checkpoints_written.Increment();
      last_checkpoint_time->Set(UnixNow());
      spdlog::info("checkpoint {}", path);
    } catch (const std::exception& e) {
      metrics->checkpoint_failures.Increment();
      spdlog::error("checkpoint of version {} failed: {}", state.version,
                    std::string(e.what()).substr(0, 300));
    }
  }

  // Takes whole messages until the batch holds at least batch_transitions; data
  // that went stale while queued is dropped and counted. Then tells the receiver, which
  // asks actors for the next batch while this one trains.
  bool Collect(const std::atomic<bool>& stop, std::vector<wire::Trajectory>* batch,
               double* mean_lag, uint64_t* max_lag) {
    int64_t transitions = 0;
    double lag_sum = 0;
    *max_lag = 0;
    while (transitions < config.batch_transitions) {
      if (stop.load()) return false;
      // Waiting for data is progress (starved, not stuck), unless nothing can arrive.
      BeatIfServing();
      const double waited_from = Now();
      std::optional<wire::Trajectory> t = queue.Pop(std::chrono::milliseconds(100));
      const double waited = Now() - waited_from;
      metrics->wait_seconds.Increment(waited);
      metrics->phase_seconds[static_cast<size_t>(UpdatePhase::kWait)]->Increment(waited);
      metrics->queue_depth.Set(static_cast<double>(queue.size()));
      metrics->actors_seen.Set(receiver->ActorsSeen(60.0));
      if (!t) continue;
      if (wire::CheckPolicyVersion(t->policy_version, state.version, config.max_policy_lag) !=
          wire::Reject::kNone) {
        metrics->rejected[static_cast<int>(wire::Reject::kStale)]->Increment();
        receiver->Consumed(t->transitions());
        continue;
      }
      const uint64_t lag = state.version - t->policy_version;
      metrics->policy_lag.Observe(static_cast<double>(lag));
      lag_sum += static_cast<double>(lag);
      *max_lag = std::max(*max_lag, lag);
      transitions += static_cast<int64_t>(t->transitions());
      batch->push_back(std::move(*t));
    }
    receiver->Consumed(static_cast<uint64_t>(transitions));
    *mean_lag = lag_sum / static_cast<double>(batch->size());
    return true;
  }

  // Final checkpoint, and the version floor brought down to just above it: a restart
  // then continues at this very version.
  void FinalCheckpoint() {
    Checkpoint();
    if (config.checkpoint_dir.empty() || last_checkpoint != state.version) return;
    try {
      version_floor.Lower(state.version);
    } catch (const std::exception& e) {
      spdlog::warn("version floor stays at {}: {}", version_floor.floor(), e.what());
    }
  }

  std::string Run(const std::atomic<bool>& stop) {
    std::string reason;
    try {
      reason = Train(stop);
    } catch (const std::exception& e) {
      // The trainer undoes a failed update, so what it holds is the last good state.
      spdlog::error("training failed at version {}: {}; writing a final checkpoint", state.version,
                    e.what());
      FinalCheckpoint();
      throw;
    }
    FinalCheckpoint();
    spdlog::info("learner stopping ({}) at version {}", reason, state.version);
    return reason;
  }

  // Progress for /healthz, unless a socket's thread has died (a failed receiver takes no
  // data; a failed ZAP handler admits no client): then /healthz fails and the pod restarts.
  void BeatIfServing() {
    if (!receiver->failed() && !(zap && zap->failed())) metrics_server->heartbeat().Beat();
  }

  std::string Train(const std::atomic<bool>& stop) {
    std::vector<wire::Trajectory> batch;
    while (true) {
      if (config.max_versions > 0 && state.version >= config.max_versions) return "max_versions";
      if (config.max_env_steps > 0 && state.env_steps >= config.max_env_steps) {
        return "max_env_steps";
      }
      batch.clear();
      double mean_lag = 0;
      uint64_t max_lag = 0;
      if (!Collect(stop, &batch, &mean_lag, &max_lag)) return "signal";
      const double t0 = Now();
      trainer->set_progress(state.version);
      if (config.ppo.lr_anneal && !config.ppo.adaptive_lr) {
        trainer->set_lr(config.ppo.AnnealedLr(state.env_steps, config.max_env_steps));
      }
      const UpdateStats s = trainer->Update(batch);
      const double seconds = Now() - t0;
      BeatIfServing();
      metrics->update_duration.Observe(seconds);
      metrics->phase_seconds[static_cast<size_t>(UpdatePhase::kBatch)]->Increment(s.batch_seconds);
      metrics->phase_seconds[static_cast<size_t>(UpdatePhase::kOptimise)]->Increment(
          std::max(0.0, seconds - s.batch_seconds));
      metrics->skipped_minibatches.Increment(s.skipped_minibatches);
      if (s.rejected) {
        metrics->rejected_updates.Increment();
        spdlog::warn("update of {} transitions rejected, version stays {}: {}", s.transitions,
                     state.version, s.rejected_why);
        continue;
      }
      ++state.version;
      state.env_steps += static_cast<uint64_t>(s.transitions);
      receiver->SetVersion(state.version);
      PublishWeights();
      Record(s);
      spdlog::info(
          "version {} | {} transitions in {} msgs | lag mean {:.2f} max {} | pg {:.4f} v {:.4f} "
          "ent {:.3f} | kl {:.4f} clip {:.3f} behaviour kl {:.4f} ev {:.3f} | lr {:.2e} | "
          "update {:.0f} ms | env steps {}{}",
          state.version, s.transitions, batch.size(), mean_lag, max_lag, s.pg_loss, s.v_loss,
          s.entropy, s.approx_kl, s.clipfrac, s.behaviour_kl, s.explained_var, s.lr, seconds * 1e3,
          state.env_steps,
          s.skipped_minibatches ? fmt::format(" | {} minibatches skipped", s.skipped_minibatches)
                                : "");
      if (state.version % config.checkpoint_every == 0) Checkpoint();
    }
  }

  void Record(const UpdateStats& s) {
    metrics->env_steps_trained.Increment(static_cast<double>(s.transitions));
    metrics->pg_loss.Set(s.pg_loss);
    metrics->v_loss.Set(s.v_loss);
    metrics->entropy.Set(s.entropy);
    metrics->approx_kl.Set(s.approx_kl);
    metrics->clipfrac.Set(s.clipfrac);
    metrics->explained_var.Set(s.explained_var);
    metrics->learning_rate.Set(s.lr);
  }
};

Learner::Learner(const LearnerConfig& config) {
  config.Validate();
  impl_ = std::make_unique<Impl>(config);
}

Learner::~Learner() = default;

std::string Learner::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }

}  // namespace hoverslam::learner
