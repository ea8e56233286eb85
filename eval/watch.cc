#include "eval/watch.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "common/connection_monitor.h"
#include "common/files.h"
#include "common/labelled_metrics.h"
#include "common/protocol.h"
#include "common/rocket_env.h"

namespace hoverslam::eval {
namespace fs = std::filesystem;
namespace {

constexpr int kPollMs = 100;  // bounds how long the loop can miss a stop request

double SteadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The evaluator's Prometheus metrics, resolved once. Thread-safe (prometheus-cpp's are).
struct WatchMetrics {
  explicit WatchMetrics(MetricsServer& m)
      : success_rate(m.Gauge("hoverslam_eval_success_rate",
                             "Fraction of the evaluation's episodes that landed (newest policy).")),
        mean_return(m.Gauge("hoverslam_eval_mean_return", "Mean return of the newest evaluation.")),
        policy_version(m.Gauge("hoverslam_eval_policy_version", "Policy version last evaluated.")),
        touchdown_speed(m.Gauge("hoverslam_eval_mean_touchdown_speed_meters_per_second",
                                "Mean touchdown speed of the newest evaluation.")),
        episode_length(m.Gauge("hoverslam_eval_mean_episode_length_seconds",
                               "Mean episode length of the newest evaluation.")),
        episodes(m.Gauge("hoverslam_eval_episodes", "Episodes per evaluation.")),
        best_success_rate(m.Gauge("hoverslam_eval_best_success_rate",
                                  "Success rate of the best policy of this training run.")),
        best_mean_return(
            m.Gauge("hoverslam_eval_best_mean_return", "Mean return of the best policy.")),
        best_policy_version(
            m.Gauge("hoverslam_eval_best_policy_version", "Version of the best policy.")),
        last_timestamp(m.Gauge("hoverslam_eval_last_evaluation_timestamp_seconds",
                               "Unix time the newest evaluation finished.")),
        duration(m.Gauge("hoverslam_eval_duration_seconds", "Time the newest evaluation took.")),
        evaluations(m.Counter("hoverslam_eval_evaluations_total", "Evaluations run.")),
        weights_received(m.Counter("hoverslam_eval_weights_received_total",
                                   "New policy versions received from the learner.")),
        best_writes(m.Counter("hoverslam_eval_best_writes_total", "New best policies written.")),
        write_failures(m.Counter("hoverslam_eval_write_failures_total",
                                 "Failed writes of best.msgpack, best.json or evals.jsonl.")),
        connected(m.Gauge("hoverslam_eval_connected",
                          "1 while the weights connection to the learner is up.")) {
    auth_failures = CountersByEnum<HandshakeFailure>(
        m, "hoverslam_eval_auth_failures_total",
        "Handshakes the learner refused (key not authorized, CURVE at one end only).", "reason",
        HandshakeFailureName);
    for (Outcome o : kEndedOutcomes) {
      outcome_rate[static_cast<int>(o)] =
          &m.Gauge("hoverslam_eval_outcome_rate", "Fraction of the newest evaluation by outcome.",
                   {{"outcome", std::string(OutcomeName(o))}});
    }
    weights_rejected = CountersByReason(m, "hoverslam_eval_weights_rejected_total",
                                        "Weights messages rejected, by reason.");
  }

  void RecordBest(const EvalRecord& r) {
    best_success_rate.Set(r.summary.rate(Outcome::kLanded));
    best_mean_return.Set(r.summary.mean_return);
    best_policy_version.Set(static_cast<double>(r.policy_version));
  }

  void Record(const EvalRecord& r, double time_step) {
    success_rate.Set(r.summary.rate(Outcome::kLanded));
    mean_return.Set(r.summary.mean_return);
    policy_version.Set(static_cast<double>(r.policy_version));
    touchdown_speed.Set(r.summary.mean_touchdown_speed);
    episode_length.Set(r.summary.mean_length * time_step);
    episodes.Set(r.summary.episodes);
    for (Outcome o : kEndedOutcomes) outcome_rate[static_cast<int>(o)]->Set(r.summary.rate(o));
    last_timestamp.Set(r.unix_time);
    duration.Set(r.duration_s);
    evaluations.Increment();
  }

  prometheus::Gauge& success_rate;
  prometheus::Gauge& mean_return;
  prometheus::Gauge& policy_version;
  prometheus::Gauge& touchdown_speed;
  prometheus::Gauge& episode_length;
  prometheus::Gauge& episodes;
  prometheus::Gauge& best_success_rate;
  prometheus::Gauge& best_mean_return;
  prometheus::Gauge& best_policy_version;
  prometheus::Gauge& last_timestamp;
  prometheus::Gauge& duration;
  prometheus::Counter& evaluations;
  prometheus::Counter& weights_received;
  prometheus::Counter& best_writes;
  prometheus::Counter& write_failures;
  prometheus::Gauge& connected;
  std::array<prometheus::Counter*, static_cast<int>(HandshakeFailure::kCount)> auth_failures{};
  std::array<prometheus::Gauge*, kNumOutcomes> outcome_rate{};  // by Outcome; [kNone] unused
  ReasonCounters weights_rejected{};
};

EvalRecord EvaluatePolicy(const EvalConfig& config, Policy* policy, std::string run) {
  EvalRecord record;
  record.run = std::move(run);
  record.env = config.env_name;
  record.policy_version = policy->version();
  const double t0 = SteadyNow();
  record.summary = Summarize(Evaluate(config, ControllerKind::kPolicy, policy).episodes);
  record.duration_s = SteadyNow() - t0;
  record.unix_time = UnixNow();
  return record;
}

std::string Describe(const EvalRecord& r) {
  char line[160];
  std::snprintf(line, sizeof(line), "v%llu: landed %.1f%% crashed %.1f%% | return %.1f | %.2f s",
                static_cast<unsigned long long>(r.policy_version),
                100 * r.summary.rate(Outcome::kLanded), 100 * r.summary.rate(Outcome::kCrashed),
                r.summary.mean_return, r.duration_s);
  return line;
}

}  // namespace

void WatchConfig::Validate() const {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
  };
  require(!learner.empty(), "--learner must name the learner host");
  require(weights_port > 0 && weights_port < 65536, "--weights-port must be in 1..65535");
  require(std::isfinite(every_s) && every_s > 0, "--every-s must be > 0");
  require(!best_dir.empty(), "--watch needs --best-dir, where best.msgpack is kept");
  zmq.Validate();
  curve.Validate();
}

bool Better(const EvalSummary& a, const EvalSummary& b) {
  const double sa = a.rate(Outcome::kLanded), sb = b.rate(Outcome::kLanded);
  return sa != sb ? sa > sb : a.mean_return > b.mean_return;
}

std::string RecordJson(const EvalRecord& r, uint64_t seed) {
  std::string j = SummaryJson(r.summary, r.env, ControllerKind::kPolicy, r.policy_version, seed);
  j.pop_back();  // the closing brace
  char tail[96];
  std::snprintf(tail, sizeof(tail), ",\"unix_time\":%.3f,\"duration_s\":%.4f,\"best\":%s}",
                r.unix_time, r.duration_s, r.best ? "true" : "false");
  return j + ",\"run\":" + JsonString(r.run) + tail;
}

BestPolicyStore::BestPolicyStore(std::string dir, uint64_t seed)
    : dir_(std::move(dir)), seed_(seed) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (!fs::is_directory(dir_)) {
    throw std::runtime_error("--best-dir " + dir_ + " is not a usable directory" +
                             (ec ? ": " + ec.message() : std::string()));
  }
}

std::optional<EvalRecord> BestPolicyStore::LoadExisting(const EvalConfig& config) {
  const fs::path path = fs::path(dir_) / "best.msgpack";
  if (!fs::exists(path)) return std::nullopt;
  try {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    std::string run;
    Policy policy = DecodePolicy(bytes, config.spec(), &run);
    best_ = EvaluatePolicy(config, &policy, run);
    best_->best = true;
  } catch (const std::exception& e) {
    spdlog::warn("ignoring {}: {}", path.string(), e.what());
    best_.reset();
  }
  return best_;
}

void BestPolicyStore::Offer(EvalRecord* record, const std::vector<char>& weights) {
  const bool better =
      !best_ || best_->run != record->run || Better(record->summary, best_->summary);
  record->best = false;
  std::exception_ptr failure;
  if (better) {
    try {
      // best.msgpack first: a crash between the two writes leaves a stale best.json,
      // and a restart re-evaluates best.msgpack anyway.
      WriteFileAtomic((fs::path(dir_) / "best.msgpack").string(),
                      std::string_view(weights.data(), weights.size()));
      record->best = true;
      best_ = *record;
      WriteFileAtomic((fs::path(dir_) / "best.json").string(), RecordJson(*record, seed_) + "\n");
    } catch (const std::exception&) {
      failure = std::current_exception();
    }
  }
  // Every evaluation is logged, also one whose best.msgpack could not be written.
  // One write(2) of a whole line with O_APPEND: a reader never sees half of one.
  const std::string path = (fs::path(dir_) / "evals.jsonl").string();
  const std::string line = RecordJson(*record, seed_) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const bool ok =
      fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (fd >= 0) ::close(fd);
  if (failure) std::rethrow_exception(failure);
  if (!ok) throw std::runtime_error("cannot append to " + path);
}

void Watch(const WatchConfig& watch, const EvalConfig& eval, MetricsServer& server,
           const std::atomic<bool>& stop) {
  watch.Validate();
  eval.Validate();
  WatchMetrics metrics(server);
  Heartbeat& heartbeat = server.heartbeat();
  BestPolicyStore store(watch.best_dir, eval.seed);
  if (const std::optional<EvalRecord> best = store.LoadExisting(eval)) {
    metrics.RecordBest(*best);
    spdlog::info("best policy so far (run {}): {}", best->run, Describe(*best));
  }

  zmq::context_t ctx(1);
  const std::string endpoint = Endpoint(watch.learner, watch.weights_port);
  const CurveClient curve = watch.curve.Load();  // throws naming a bad key file
  if (curve.enabled()) spdlog::info("CURVE on: evaluator public key {}", curve.public_key);
  ClientConnection::Hooks hooks;
  hooks.on_failure = [&](HandshakeFailure f) {
    metrics.auth_failures[static_cast<int>(f)]->Increment();
  };
  hooks.on_connected = [&](bool up) { metrics.connected.Set(up ? 1 : 0); };
  // Re-created after a refused handshake (a key authorized late), like the actor's.
  ClientConnection connection(
      ctx, "weights", endpoint,
      [&](const std::string& e) { return MakeWeightsSub(ctx, e, watch.zmq, curve); }, watch.zmq,
      hooks);
  spdlog::info("evaluating the newest policy from {} every {:g} s on {} episodes (seed {})",
               endpoint, watch.every_s, eval.episodes, eval.seed);

  std::vector<char> bytes;  // the newest accepted weights message, as received
  std::optional<Policy> policy;
  std::string run;
  std::pair<std::string, uint64_t> evaluated{"", 0};  // (run, version) last evaluated
  bool any_evaluated = false;
  double next_eval = 0;
  wire::Weights scratch;
  const EnvSpec spec = eval.spec();
  while (!stop.load()) {
    heartbeat.Beat();
    connection.Poll();
    zmq::socket_t& sub = connection.socket();
    zmq::pollitem_t item{static_cast<void*>(sub), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(kPollMs));
      zmq::message_t message;
      // CONFLATE keeps at most one queued message: the newest.
      while (sub.recv(message, zmq::recv_flags::dontwait)) {
        wire::Expect expect;
        expect.run = "";  // any run: the learner's is the one in use
        expect.env = spec.name;
        const wire::DecodeResult r =
            wire::Decode(message.data(), message.size(), wire::Limits{}, expect, &scratch);
        if (r && policy && scratch.run == run && scratch.policy_version == policy->version()) {
          continue;  // the learner's periodic re-publish
        }
        std::string why = r.message;
        std::optional<Policy> next;
        if (r) next = Policy::FromWeights(scratch, spec.obs_dim, spec.act_dim, &why);
        if (!next) {
          const wire::Reject reason = r ? wire::Reject::kShapeMismatch : r.reason;
          metrics.weights_rejected[static_cast<int>(reason)]->Increment();
          spdlog::warn("rejected weights ({}): {}", wire::RejectName(reason), why);
          continue;
        }
        policy = std::move(next);
        run = scratch.run;
        bytes.assign(static_cast<const char*>(message.data()),
                     static_cast<const char*>(message.data()) + message.size());
        metrics.weights_received.Increment();
      }
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
      continue;  // a signal: the loop condition sees the stop flag
    }

    const bool fresh = policy && (!any_evaluated || evaluated.first != run ||
                                  evaluated.second != policy->version());
    if (!fresh || SteadyNow() < next_eval) continue;
    EvalRecord record = EvaluatePolicy(eval, &*policy, run);
    evaluated = {run, policy->version()};
    any_evaluated = true;
    next_eval = SteadyNow() + watch.every_s;
    try {
      store.Offer(&record, bytes);
      if (record.best) metrics.best_writes.Increment();
    } catch (const std::exception& e) {
      metrics.write_failures.Increment();
      spdlog::error("evaluation of v{} not recorded: {}", record.policy_version, e.what());
    }
    metrics.Record(record, spec.step_seconds);
    if (store.best()) metrics.RecordBest(*store.best());
    spdlog::info("eval {}{}", Describe(record), record.best ? " | new best" : "");
  }
  spdlog::info("evaluator stopping");
}

}  // namespace hoverslam::eval
