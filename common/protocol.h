// Wire protocol v2: the whole contract between actors and the learner.
//
// One ZeroMQ frame per message; every message is a msgpack map with string keys.
// Number arrays are msgpack `bin` holding little-endian values, row-major, in the
// shape given. Unknown keys are ignored; a missing or ill-typed required key
// rejects the message. Common keys: proto (uint, = 2), type (str), run (str),
// env (str).
//
// Credit flow (new in v2): an actor collects a rollout only when the learner asks for one.
// On the trajectory channel (actor DEALER -> learner ROUTER) the actor sends "ready"; the
// learner answers "grant" when it wants a rollout; the actor collects T steps with weights
// of at least the granted version and sends one "trajectory". A trajectory without a grant
// is rejected as no_credit.
//
// type "ready" (actor -> learner): actor str | policy_version uint (weights it holds) |
//   transitions uint (T * N of its rollouts, >= 1)
// type "grant" (learner -> actor): policy_version uint: collect with this version or newer
//
// type "trajectory" (actor -> learner), T = num_steps, N = num_envs, D = obs_dim, A = act_dim:
//   actor str | policy_version uint | num_steps, num_envs, obs_dim, act_dim uint
//   obs bin f32 [T+1, N, D]     obs[t] seen before action t; obs[T] bootstraps
//   actions bin f32 [T, N, A]   raw Gaussian samples, before clipping to [-1, 1]
//   logp bin f32 [T, N]         behaviour log-probability of the raw sample
//   rewards bin f32 [T, N]
//   terminated, truncated bin u8 [T, N]   0 or 1, never both; after either, obs[t+1] starts
//                                         a new episode
//   final_idx bin u32 [K], final_obs bin f32 [K, D]   true last obs of each truncated step
//                                                     (flat index t*N+n, increasing)
//   episodes array of {return f32, length uint, outcome str}
//
// type "weights" (learner -> actors; also the exported policy file policy.msgpack):
//   policy_version uint | obs_dim, act_dim uint | activation str (tanh, elu, relu)
//   layers array of {in uint, out uint, w bin f32 [out, in], b bin f32 [out]}, input to output
//   log_std bin f32 [A] in [-20, 20] | obs_mean, obs_var bin f32 [D] | obs_clip f32
//   The policy sees clip((obs - mean) / sqrt(var + 1e-8), -obs_clip, obs_clip).
//
// A message that breaks a rule is rejected whole, under one Reject reason. Decode checks
// the format and Expect (run, env, dims); CheckValues then checks that a trajectory's
// finite values are ones this task can produce (ValueBounds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/outcome.h"

namespace hoverslam::wire {

constexpr uint32_t kProtocolVersion = 2;
// Weights did not change in v2, so policy files written under v1 still load.
constexpr uint32_t kOldestWeightsProtocol = 1;
constexpr float kObsVarEpsilon = 1e-8f;
constexpr float kMaxAbsLogStd = 20.0f;  // |log_std| bound of weights; exp(20) = 5e8

// Why a message was rejected. Names are stable metric labels.
enum class Reject : uint8_t {
  kNone,           // accepted
  kMalformed,      // not one msgpack map, trailing bytes, duplicate key, nesting too deep
  kMissingKey,     // a required key is absent
  kBadType,        // a key holds the wrong msgpack type (or an int out of range)
  kWrongProto,     // proto != 2 (weights: not 1 or 2)
  kWrongType,      // type is not the one this socket carries
  kWrongRun,       // run differs from the receiver's training run
  kWrongEnv,       // env differs from the receiver's env
  kShapeMismatch,  // shape keys disagree with bin lengths or each other
  kTooLarge,       // a size over the configured Limits
  kNonFinite,      // a NaN or infinity anywhere
  kInvalidValue,   // flag not 0/1, unknown outcome or activation, bad final_idx, negative var
  kStale,          // policy_version older than the learner's by more than max_policy_lag
  kFuture,         // policy_version newer than the learner's
  kWrongDims,      // obs_dim or act_dim differs from Expect's (the learner's model)
  kOutOfRange,     // finite, but outside what the task can produce (ValueBounds)
  kNoCredit,       // a trajectory from a connection that holds no grant (proto 2 credit flow)
  kCount,          // not a reason: the number of values above
};
constexpr int kNumRejectReasons = static_cast<int>(Reject::kCount);  // kNone included

// snake_case name of a reason: "malformed", "missing_key", ... ("none" for kNone).
std::string_view RejectName(Reject reason);

// Upper bounds a receiver enforces before trusting any size in a message.
struct Limits {
  uint32_t max_steps = 4096;                 // T
  uint32_t max_envs = 4096;                  // N
  uint32_t max_obs_dim = 256;                // D
  uint32_t max_act_dim = 64;                 // A
  uint64_t max_transitions = 1 << 20;        // T * N
  uint32_t max_layers = 16;                  // policy depth
  uint32_t max_layer_size = 4096;            // units per layer
  uint32_t max_episodes = 65536;             // episode summaries per message
  uint32_t max_string = 256;                 // bytes in run, env, actor, type and outcome strings
  uint64_t max_message_bytes = 64ull << 20;  // also ZMQ_MAXMSGSIZE on receiving sockets
};

struct EpisodeSummary {
  float episode_return = 0;
  uint32_t length = 0;
  Outcome outcome = Outcome::kNone;
};

struct Trajectory {
  std::string run;
  std::string env = "rocket";
  std::string actor;
  uint64_t policy_version = 0;
  uint32_t num_steps = 0, num_envs = 0, obs_dim = 0, act_dim = 0;
  std::vector<float> obs;           // [T+1, N, D]
  std::vector<float> actions;       // [T, N, A]
  std::vector<float> logp;          // [T, N]
  std::vector<float> rewards;       // [T, N]
  std::vector<uint8_t> terminated;  // [T, N]
  std::vector<uint8_t> truncated;   // [T, N]
  std::vector<uint32_t> final_idx;  // [K]
  std::vector<float> final_obs;     // [K, D]
  std::vector<EpisodeSummary> episodes;

  // Sizes every array for the shape keys (contents unspecified).
  void Resize(uint32_t t, uint32_t n, uint32_t d, uint32_t a);
  uint64_t transitions() const { return uint64_t{num_steps} * num_envs; }
};

// An actor's request for work: it is idle and can collect one rollout.
struct Ready {
  std::string run;  // of the weights the actor holds
  std::string env = "rocket";
  std::string actor;
  uint64_t policy_version = 0;  // of the weights the actor holds
  uint64_t transitions = 0;     // T * N of one of its rollouts
};

// The learner's answer: collect one rollout with weights of `run` at policy_version or newer.
struct Grant {
  std::string run;
  std::string env = "rocket";
  uint64_t policy_version = 0;
};

enum class Activation : uint8_t { kTanh, kElu, kRelu };
std::string_view ActivationName(Activation activation);
std::optional<Activation> ActivationFromName(std::string_view name);  // tanh, elu, relu

struct Layer {
  uint32_t in = 0, out = 0;
  std::vector<float> w;  // [out, in]
  std::vector<float> b;  // [out]
};

struct Weights {
  std::string run;
  std::string env = "rocket";
  uint64_t policy_version = 0;
  uint32_t obs_dim = 0, act_dim = 0;
  Activation activation = Activation::kTanh;
  std::vector<Layer> layers;
  std::vector<float> log_std;   // [A]
  std::vector<float> obs_mean;  // [D]
  std::vector<float> obs_var;   // [D]
  float obs_clip = 10.0f;
};

// What a receiver requires of a message's common keys and shapes; an empty string or a 0
// accepts any.
struct Expect {
  std::string run;
  std::string env = "rocket";
  uint32_t obs_dim = 0;  // D of the receiver's model: other D is wrong_dims
  uint32_t act_dim = 0;  // A of the receiver's model: other A is wrong_dims
};

// The values a trajectory of this task can hold. Decode only requires them to be finite; a
// finite 1e30 reward or a behaviour log-probability of -1e30 still drives PPO to NaN, so a
// learner also applies CheckValues. Defaults are generous for the rocket (world 80 m x 45 m,
// rewards of at most a few hundred per step, actions clipped to [-1, 1]).
struct ValueBounds {
  float max_abs_obs = 1e4f;           // |obs|, |final_obs|
  float max_abs_action = 1e4f;        // |actions|, the raw samples before the env's clip
  float max_abs_reward = 1e4f;        // |rewards| per step
  float max_abs_return = 1e7f;        // |episodes[].return|
  float max_log_std = kMaxAbsLogStd;  // |log_std| any behaviour policy can have
  float max_sigmas = 30.0f;           // |a - mu| / sigma of a real sample: P(beyond) < 1e-197
};

// The behaviour log-probabilities a Gaussian policy with |log_std| <= max_log_std can report
// for A action dimensions: logp = sum_j [-0.5 z_j^2 - log_std_j - 0.5 log(2 pi)], so
//   max = A (max_log_std - 0.5 log(2 pi))                                (z = 0, narrowest)
//   min = -A (0.5 max_sigmas^2 + max_log_std + 0.5 log(2 pi))            (|z| = max_sigmas, widest)
struct LogpRange {
  double min, max;
};
LogpRange BehaviourLogpRange(uint32_t act_dim, const ValueBounds& bounds);

// Result of Decode: kNone on success, else the reason and a short human message.
struct DecodeResult {
  Reject reason = Reject::kNone;
  std::string message;
  explicit operator bool() const { return reason == Reject::kNone; }
};

// Appends nothing: `out` is cleared and holds exactly one encoded message.
void Encode(const Trajectory& msg, std::vector<char>* out);
void Encode(const Weights& msg, std::vector<char>* out);
void Encode(const Ready& msg, std::vector<char>* out);
void Encode(const Grant& msg, std::vector<char>* out);

// Decodes and validates one message. On failure `out` is unspecified (the caller
// must not use it), nothing is thrown, and nothing outside `out` is touched. Reusing
// `out` across calls reuses its buffers.
DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    Trajectory* out);
DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    Weights* out);
DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    Grant* out);

// What an actor sends on the trajectory channel: a ready or a trajectory, told apart by
// `type` and decoded with one parse. Any other type is wrong_type.
struct ActorMessage {
  enum class Type : uint8_t { kReady, kTrajectory } type = Type::kReady;
  Ready ready;
  Trajectory trajectory;
};
DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    ActorMessage* out);

// kOutOfRange naming the first value of a decoded trajectory outside `bounds`, else kNone.
DecodeResult CheckValues(const Trajectory& msg, const ValueBounds& bounds);

// The learner's freshness rule: kStale if version + max_lag < current, kFuture if
// version > current, else kNone.
Reject CheckPolicyVersion(uint64_t version, uint64_t current, uint64_t max_lag);

}  // namespace hoverslam::wire
