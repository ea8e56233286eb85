// hoverslam-eval --watch: the evaluator service. Subscribes to the learner's weights,
// evaluates the newest policy every `every_s` seconds on a fixed, seeded episode set,
// exports the results as hoverslam_eval_* metrics and keeps the best policy of the
// current training run in `best_dir`.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/curve.h"
#include "common/metrics.h"
#include "common/zmq_sockets.h"
#include "eval/evaluate.h"

namespace hoverslam::eval {

struct WatchConfig {
  std::string learner = "127.0.0.1";  // learner host (or a full tcp:// / ipc:// endpoint)
  int weights_port = kWeightsPort;    // learner's PUB port
  double every_s = 30;                // seconds between evaluations of a new policy
  std::string best_dir;               // best.msgpack, best.json and evals.jsonl go here
  ZmqConfig zmq;                      // socket tuning
  CurveClientFiles curve;             // CURVE keys; none: plaintext

  // Throws std::invalid_argument naming the flag of the first bad field.
  void Validate() const;
};

// One evaluation of one policy version, as written to evals.jsonl.
struct EvalRecord {
  std::string run;
  std::string env = kDefaultEnvName;
  uint64_t policy_version = 0;
  double unix_time = 0;   // when the evaluation finished
  double duration_s = 0;  // how long it took
  bool best = false;      // it became the run's best
  EvalSummary summary;
};

// Higher success rate wins; on a tie (early on, all 0%) the higher mean return.
bool Better(const EvalSummary& a, const EvalSummary& b);

// The best policy of a training run on disk: DIR/best.msgpack (the weights message,
// loadable by --policy) and DIR/best.json (its evaluation), both replaced atomically,
// and DIR/evals.jsonl, one line per evaluation. Not thread-safe.
class BestPolicyStore {
 public:
  // Creates `dir` if needed; throws std::runtime_error naming it when unusable.
  // `seed` is the evaluation's, recorded in every line.
  BestPolicyStore(std::string dir, uint64_t seed);

  // The best policy already in the directory (a restarted evaluator), re-evaluated
  // with `config` so it is compared on the same episodes; nullopt when there is none
  // or it cannot be read.
  std::optional<EvalRecord> LoadExisting(const EvalConfig& config);

  // Records `record` in evals.jsonl and, when it beats the best of its run (a new run
  // starts afresh), writes `weights` as the new best.msgpack and sets record->best.
  // Throws std::runtime_error on a failed write; the previous best is then whole.
  void Offer(EvalRecord* record, const std::vector<char>& weights);

  const std::optional<EvalRecord>& best() const { return best_; }

 private:
  std::string dir_;
  uint64_t seed_;
  std::optional<EvalRecord> best_;
};

// evals.jsonl's line: the one-shot JSON line's keys plus run, unix_time,
// duration_s and best.
std::string RecordJson(const EvalRecord& record, uint64_t seed);

// Runs the service until `stop`. Throws std::runtime_error only at start-up (best_dir
// unusable); at run time bad weights are counted and skipped, and a failed write of
// the best policy is counted, logged and retried with the next better policy.
void Watch(const WatchConfig& watch, const EvalConfig& eval, MetricsServer& metrics,
           const std::atomic<bool>& stop);

}  // namespace hoverslam::eval
