#include "common/protocol.h"

#include <msgpack.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>

#include "common/msgpack_fields.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the wire carries little-endian arrays; add byte swapping for this host");

namespace hoverslam::wire {
namespace {

// msgpack::packer output into a reused std::vector<char>.
struct VectorWriter {
  std::vector<char>* out;
  void write(const char* data, size_t size) { out->insert(out->end(), data, data + size); }
};
using Packer = msgpack::packer<VectorWriter>;

void PackKey(Packer& pk, std::string_view key) {
  pk.pack_str(static_cast<uint32_t>(key.size()));
  pk.pack_str_body(key.data(), static_cast<uint32_t>(key.size()));
}

void PackStr(Packer& pk, std::string_view key, std::string_view value) {
  PackKey(pk, key);
  PackKey(pk, value);
}

template <typename T>
void PackUint(Packer& pk, std::string_view key, T value) {
  PackKey(pk, key);
  pk.pack(static_cast<uint64_t>(value));
}

template <typename T>
void PackBin(Packer& pk, std::string_view key, const std::vector<T>& values) {
  PackKey(pk, key);
  const auto bytes = static_cast<uint32_t>(values.size() * sizeof(T));
  pk.pack_bin(bytes);
  pk.pack_bin_body(reinterpret_cast<const char*>(values.data()), bytes);
}

void PackCommon(Packer& pk, std::string_view type, const std::string& run, const std::string& env) {
  PackUint(pk, "proto", kProtocolVersion);
  PackStr(pk, "type", type);
  PackStr(pk, "run", run);
  PackStr(pk, "env", env);
}

// Whether `type` is one of the '|'-separated names in `types`.
bool OneOf(std::string_view type, std::string_view types) {
  while (true) {
    const size_t bar = types.find('|');
    if (types.substr(0, bar) == type) return true;
    if (bar == std::string_view::npos) return false;
    types.remove_prefix(bar + 1);
  }
}

// Checks proto, type, run and env, the keys every message carries. `types` lists the
// accepted types ("ready|trajectory"); the one found is stored in *type when given.
DecodeResult CheckCommon(const Fields& f, std::string_view types, const Limits& limits,
                         const Expect& expect, std::string* run, std::string* env,
                         uint32_t oldest_proto = kProtocolVersion, std::string* type = nullptr) {
  uint64_t proto = 0;
  std::string_view got_type, got_run, got_env;
  if (auto r = f.Uint("proto", &proto); !r) return r;
  if (proto < oldest_proto || proto > kProtocolVersion) {
    return {Reject::kWrongProto,
            "proto " + std::to_string(proto) + ", expected " + std::to_string(kProtocolVersion) +
                (proto < kProtocolVersion ? " (proto 2 actors ask the learner for credit: upgrade)"
                                          : "")};
  }
  if (auto r = f.Str("type", limits.max_string, &got_type); !r) return r;
  if (!OneOf(got_type, types)) {
    return {Reject::kWrongType,
            "type '" + std::string(got_type) + "', expected " + std::string(types)};
  }
  if (auto r = f.Str("run", limits.max_string, &got_run); !r) return r;
  if (auto r = f.Str("env", limits.max_string, &got_env); !r) return r;
  if (!expect.env.empty() && got_env != expect.env) {
    return {Reject::kWrongEnv, "env '" + std::string(got_env) + "', expected " + expect.env};
  }
  if (!expect.run.empty() && got_run != expect.run) {
    return {Reject::kWrongRun, "run '" + std::string(got_run) + "', expected " + expect.run};
  }
  run->assign(got_run);
  env->assign(got_env);
  if (type) type->assign(got_type);
  return {};
}

// obs_dim and act_dim against the receiver's model, when it names one.
DecodeResult CheckDims(uint32_t obs_dim, uint32_t act_dim, const Expect& expect) {
  if ((expect.obs_dim != 0 && obs_dim != expect.obs_dim) ||
      (expect.act_dim != 0 && act_dim != expect.act_dim)) {
    return {Reject::kWrongDims, "obs_dim " + std::to_string(obs_dim) + ", act_dim " +
                                    std::to_string(act_dim) + ", expected " +
                                    std::to_string(expect.obs_dim) + " and " +
                                    std::to_string(expect.act_dim)};
  }
  return {};
}

std::string Num(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", v);
  return text;
}

// Every |v| <= bound (finite values only: Decode has rejected the rest).
DecodeResult WithinAbs(const std::vector<float>& values, float bound, std::string_view key) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::fabs(values[i]) > bound) {
      return {Reject::kOutOfRange, std::string(key) + "[" + std::to_string(i) +
                                       "] = " + Num(values[i]) + ", beyond " + Num(bound)};
    }
  }
  return {};
}

// A shape key in [1, max].
DecodeResult Dim(const Fields& f, std::string_view key, uint32_t max, uint32_t* out) {
  uint64_t v = 0;
  if (auto r = f.Uint(key, &v); !r) return r;
  if (v == 0) return {Reject::kShapeMismatch, std::string(key) + " is 0"};
  if (v > max) {
    return {Reject::kTooLarge,
            std::string(key) + " " + std::to_string(v) + " > " + std::to_string(max)};
  }
  *out = static_cast<uint32_t>(v);
  return {};
}

DecodeResult Finite(const std::vector<float>& v, std::string_view key) {
  if (!AllFinite(v.data(), v.size())) return {Reject::kNonFinite, std::string(key)};
  return {};
}

DecodeResult Flags(const std::vector<uint8_t>& v, std::string_view key) {
  for (uint8_t x : v) {
    if (x > 1) return {Reject::kInvalidValue, std::string(key) + " holds a value other than 0/1"};
  }
  return {};
}

DecodeResult DecodeEpisodes(const Fields& f, const Limits& limits,
                            std::vector<EpisodeSummary>* out) {
  const msgpack::object* list = nullptr;
  if (auto r = f.Array("episodes", &list); !r) return r;
  const uint32_t count = list->via.array.size;
  if (count > limits.max_episodes) {
    return {Reject::kTooLarge, "episodes " + std::to_string(count)};
  }
  out->resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    Fields e;
    if (auto r = e.Parse(list->via.array.ptr[i], "episodes[]"); !r) return r;
    EpisodeSummary& s = (*out)[i];
    uint64_t length = 0;
    std::string_view outcome;
    if (auto r = e.Float("return", &s.episode_return); !r) return r;
    if (auto r = e.Uint("length", &length); !r) return r;
    if (auto r = e.Str("outcome", limits.max_string, &outcome); !r) return r;
    if (!std::isfinite(s.episode_return)) return {Reject::kNonFinite, "episodes[].return"};
    if (length > UINT32_MAX) return {Reject::kBadType, "episodes[].length out of range"};
    s.length = static_cast<uint32_t>(length);
    const std::optional<Outcome> o = OutcomeFromName(outcome);
    if (!o) return {Reject::kInvalidValue, "unknown outcome '" + std::string(outcome) + "'"};
    s.outcome = *o;
  }
  return {};
}

// final_idx must name every truncated step exactly once, in increasing order.
DecodeResult CheckFinalIdx(const Trajectory& m) {
  size_t k = 0;
  for (uint64_t i = 0; i < m.truncated.size(); ++i) {
    if (!m.truncated[i]) continue;
    if (k >= m.final_idx.size() || m.final_idx[k] != i) {
      return {Reject::kInvalidValue, "final_idx must list every truncated step, in order"};
    }
    ++k;
  }
  if (k != m.final_idx.size()) {
    return {Reject::kInvalidValue, "final_idx names a step that is not truncated"};
  }
  return {};
}

// Unpacks one message and hands its fields to `body`; what msgpack throws becomes a
// rejection, never an exception.
template <typename Body>
DecodeResult Unpacked(const void* data, size_t size, const Limits& limits, Body&& body) {
  try {
    Message msg;
    if (auto r = msg.Unpack(data, size, limits); !r) return r;
    return body(msg.fields());
  } catch (const std::bad_alloc&) {
    return {Reject::kTooLarge, "out of memory"};
  } catch (const std::exception& e) {
    return {Reject::kMalformed, e.what()};
  }
}

}  // namespace

std::string_view RejectName(Reject reason) {
  switch (reason) {
    case Reject::kNone:
      return "none";
    case Reject::kMalformed:
      return "malformed";
    case Reject::kMissingKey:
      return "missing_key";
    case Reject::kBadType:
      return "bad_type";
    case Reject::kWrongProto:
      return "wrong_proto";
    case Reject::kWrongType:
      return "wrong_type";
    case Reject::kWrongRun:
      return "wrong_run";
    case Reject::kWrongEnv:
      return "wrong_env";
    case Reject::kShapeMismatch:
      return "shape_mismatch";
    case Reject::kTooLarge:
      return "too_large";
    case Reject::kNonFinite:
      return "non_finite";
    case Reject::kInvalidValue:
      return "invalid_value";
    case Reject::kStale:
      return "stale";
    case Reject::kFuture:
      return "future";
    case Reject::kWrongDims:
      return "wrong_dims";
    case Reject::kOutOfRange:
      return "out_of_range";
    case Reject::kNoCredit:
      return "no_credit";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

std::string_view ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kTanh:
      return "tanh";
    case Activation::kElu:
      return "elu";
    case Activation::kRelu:
      return "relu";
  }
  return "unknown";
}

std::optional<Activation> ActivationFromName(std::string_view name) {
  for (Activation a : {Activation::kTanh, Activation::kElu, Activation::kRelu}) {
    if (ActivationName(a) == name) return a;
  }
  return std::nullopt;
}

void Trajectory::Resize(uint32_t t, uint32_t n, uint32_t d, uint32_t a) {
  num_steps = t;
  num_envs = n;
  obs_dim = d;
  act_dim = a;
  const size_t tn = size_t{t} * n;
  obs.resize((tn + n) * d);
  actions.resize(tn * a);
  logp.resize(tn);
  rewards.resize(tn);
  terminated.resize(tn);
  truncated.resize(tn);
}

void Encode(const Trajectory& m, std::vector<char>* out) {
  out->clear();
  out->reserve(256 + m.obs.size() * 4 + m.transitions() * (m.act_dim * 4 + 10) +
               m.final_obs.size() * 4 + m.final_idx.size() * 4 + m.episodes.size() * 40);
  VectorWriter writer{out};
  Packer pk(writer);
  pk.pack_map(19);
  PackCommon(pk, "trajectory", m.run, m.env);
  PackStr(pk, "actor", m.actor);
  PackUint(pk, "policy_version", m.policy_version);
  PackUint(pk, "num_steps", m.num_steps);
  PackUint(pk, "num_envs", m.num_envs);
  PackUint(pk, "obs_dim", m.obs_dim);
  PackUint(pk, "act_dim", m.act_dim);
  PackBin(pk, "obs", m.obs);
  PackBin(pk, "actions", m.actions);
  PackBin(pk, "logp", m.logp);
  PackBin(pk, "rewards", m.rewards);
  PackBin(pk, "terminated", m.terminated);
  PackBin(pk, "truncated", m.truncated);
  PackBin(pk, "final_idx", m.final_idx);
  PackBin(pk, "final_obs", m.final_obs);
  PackKey(pk, "episodes");
  pk.pack_array(static_cast<uint32_t>(m.episodes.size()));
  for (const EpisodeSummary& e : m.episodes) {
    pk.pack_map(3);
    PackKey(pk, "return");
    pk.pack_float(e.episode_return);
    PackUint(pk, "length", e.length);
    PackStr(pk, "outcome", OutcomeName(e.outcome));
  }
}

void Encode(const Weights& m, std::vector<char>* out) {
  out->clear();
  VectorWriter writer{out};
  Packer pk(writer);
  pk.pack_map(13);
  PackCommon(pk, "weights", m.run, m.env);
  PackUint(pk, "policy_version", m.policy_version);
  PackUint(pk, "obs_dim", m.obs_dim);
  PackUint(pk, "act_dim", m.act_dim);
  PackStr(pk, "activation", ActivationName(m.activation));
  PackKey(pk, "layers");
  pk.pack_array(static_cast<uint32_t>(m.layers.size()));
  for (const Layer& l : m.layers) {
    pk.pack_map(4);
    PackUint(pk, "in", l.in);
    PackUint(pk, "out", l.out);
    PackBin(pk, "w", l.w);
    PackBin(pk, "b", l.b);
  }
  PackBin(pk, "log_std", m.log_std);
  PackBin(pk, "obs_mean", m.obs_mean);
  PackBin(pk, "obs_var", m.obs_var);
  PackKey(pk, "obs_clip");
  pk.pack_float(m.obs_clip);
}

namespace {

// The trajectory keys after the common ones.
DecodeResult DecodeTrajectory(const Fields& f, const Limits& limits, const Expect& expect,
                              Trajectory* m) {
  std::string_view actor;
  if (auto r = f.Str("actor", limits.max_string, &actor); !r) return r;
  m->actor.assign(actor);
  if (auto r = f.Uint("policy_version", &m->policy_version); !r) return r;
  uint32_t t = 0, n = 0, d = 0, a = 0;
  if (auto r = Dim(f, "num_steps", limits.max_steps, &t); !r) return r;
  if (auto r = Dim(f, "num_envs", limits.max_envs, &n); !r) return r;
  if (auto r = Dim(f, "obs_dim", limits.max_obs_dim, &d); !r) return r;
  if (auto r = Dim(f, "act_dim", limits.max_act_dim, &a); !r) return r;
  if (auto r = CheckDims(d, a, expect); !r) return r;
  if (uint64_t{t} * n > limits.max_transitions) {
    return {Reject::kTooLarge, "num_steps * num_envs " + std::to_string(uint64_t{t} * n)};
  }
  const uint64_t tn = uint64_t{t} * n;
  // Bin() sizes each array only once its length matches the shape: a small message
  // claiming huge shapes allocates nothing.
  m->num_steps = t;
  m->num_envs = n;
  m->obs_dim = d;
  m->act_dim = a;
  if (auto r = f.Bin("obs", (tn + n) * d, &m->obs); !r) return r;
  if (auto r = f.Bin("actions", tn * a, &m->actions); !r) return r;
  if (auto r = f.Bin("logp", tn, &m->logp); !r) return r;
  if (auto r = f.Bin("rewards", tn, &m->rewards); !r) return r;
  if (auto r = f.Bin("terminated", tn, &m->terminated); !r) return r;
  if (auto r = f.Bin("truncated", tn, &m->truncated); !r) return r;
  if (auto r = f.BinAnyLength("final_idx", tn, &m->final_idx); !r) return r;
  if (auto r = f.Bin("final_obs", uint64_t{m->final_idx.size()} * d, &m->final_obs); !r) {
    return r;
  }
  if (auto r = DecodeEpisodes(f, limits, &m->episodes); !r) return r;
  for (auto [values, key] : {std::pair{&m->obs, "obs"},
                             {&m->actions, "actions"},
                             {&m->logp, "logp"},
                             {&m->rewards, "rewards"},
                             {&m->final_obs, "final_obs"}}) {
    if (auto r = Finite(*values, key); !r) return r;
  }
  if (auto r = Flags(m->terminated, "terminated"); !r) return r;
  if (auto r = Flags(m->truncated, "truncated"); !r) return r;
  for (uint64_t i = 0; i < tn; ++i) {
    if (m->terminated[i] && m->truncated[i]) {
      return {Reject::kInvalidValue, "a step is both terminated and truncated"};
    }
  }
  return CheckFinalIdx(*m);
}

DecodeResult DecodeReady(const Fields& f, const Limits& limits, Ready* m) {
  std::string_view actor;
  if (auto r = f.Str("actor", limits.max_string, &actor); !r) return r;
  m->actor.assign(actor);
  if (auto r = f.Uint("policy_version", &m->policy_version); !r) return r;
  if (auto r = f.Uint("transitions", &m->transitions); !r) return r;
  if (m->transitions == 0) return {Reject::kInvalidValue, "transitions is 0"};
  if (m->transitions > limits.max_transitions) {
    return {Reject::kTooLarge, "transitions " + std::to_string(m->transitions)};
  }
  return {};
}

}  // namespace

DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    Trajectory* m) {
  return Unpacked(data, size, limits, [&](const Fields& f) -> DecodeResult {
    if (auto r = CheckCommon(f, "trajectory", limits, expect, &m->run, &m->env); !r) return r;
    return DecodeTrajectory(f, limits, expect, m);
  });
}

DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    ActorMessage* m) {
  return Unpacked(data, size, limits, [&](const Fields& f) -> DecodeResult {
    std::string type, run, env;
    if (auto r =
            CheckCommon(f, "ready|trajectory", limits, expect, &run, &env, kProtocolVersion, &type);
        !r) {
      return r;
    }
    if (type == "ready") {
      m->type = ActorMessage::Type::kReady;
      m->ready.run = std::move(run);
      m->ready.env = std::move(env);
      return DecodeReady(f, limits, &m->ready);
    }
    m->type = ActorMessage::Type::kTrajectory;
    m->trajectory.run = std::move(run);
    m->trajectory.env = std::move(env);
    return DecodeTrajectory(f, limits, expect, &m->trajectory);
  });
}

DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    Grant* m) {
  return Unpacked(data, size, limits, [&](const Fields& f) -> DecodeResult {
    if (auto r = CheckCommon(f, "grant", limits, expect, &m->run, &m->env); !r) return r;
    return f.Uint("policy_version", &m->policy_version);
  });
}

void Encode(const Ready& m, std::vector<char>* out) {
  out->clear();
  VectorWriter writer{out};
  Packer pk(writer);
  pk.pack_map(7);
  PackCommon(pk, "ready", m.run, m.env);
  PackStr(pk, "actor", m.actor);
  PackUint(pk, "policy_version", m.policy_version);
  PackUint(pk, "transitions", m.transitions);
}

void Encode(const Grant& m, std::vector<char>* out) {
  out->clear();
  VectorWriter writer{out};
  Packer pk(writer);
  pk.pack_map(5);
  PackCommon(pk, "grant", m.run, m.env);
  PackUint(pk, "policy_version", m.policy_version);
}

DecodeResult Decode(const void* data, size_t size, const Limits& limits, const Expect& expect,
                    Weights* m) {
  return Unpacked(data, size, limits, [&](const Fields& f) -> DecodeResult {
    if (auto r =
            CheckCommon(f, "weights", limits, expect, &m->run, &m->env, kOldestWeightsProtocol);
        !r) {
      return r;
    }
    if (auto r = f.Uint("policy_version", &m->policy_version); !r) return r;
    if (auto r = Dim(f, "obs_dim", limits.max_obs_dim, &m->obs_dim); !r) return r;
    if (auto r = Dim(f, "act_dim", limits.max_act_dim, &m->act_dim); !r) return r;
    if (auto r = CheckDims(m->obs_dim, m->act_dim, expect); !r) return r;
    std::string_view activation;
    if (auto r = f.Str("activation", limits.max_string, &activation); !r) return r;
    const std::optional<Activation> act = ActivationFromName(activation);
    if (!act)
      return {Reject::kInvalidValue, "unknown activation '" + std::string(activation) + "'"};
    m->activation = *act;

    const msgpack::object* list = nullptr;
    if (auto r = f.Array("layers", &list); !r) return r;
    const uint32_t count = list->via.array.size;
    if (count == 0) return {Reject::kShapeMismatch, "no layers"};
    if (count > limits.max_layers) return {Reject::kTooLarge, "layers " + std::to_string(count)};
    m->layers.resize(count);
    uint32_t expect_in = m->obs_dim;
    for (uint32_t i = 0; i < count; ++i) {
      Fields lf;
      if (auto r = lf.Parse(list->via.array.ptr[i], "layers[]"); !r) return r;
      Layer& l = m->layers[i];
      if (auto r = Dim(lf, "in", limits.max_layer_size, &l.in); !r) return r;
      if (auto r = Dim(lf, "out", limits.max_layer_size, &l.out); !r) return r;
      const uint32_t expect_out = i + 1 == count ? m->act_dim : l.out;
      if (l.in != expect_in || l.out != expect_out) {
        return {Reject::kShapeMismatch, "layer " + std::to_string(i) + " is " +
                                            std::to_string(l.in) + "->" + std::to_string(l.out)};
      }
      expect_in = l.out;
      if (auto r = lf.Bin("w", uint64_t{l.out} * l.in, &l.w); !r) return r;
      if (auto r = lf.Bin("b", l.out, &l.b); !r) return r;
      if (auto r = Finite(l.w, "layers[].w"); !r) return r;
      if (auto r = Finite(l.b, "layers[].b"); !r) return r;
    }
    if (auto r = f.Bin("log_std", m->act_dim, &m->log_std); !r) return r;
    if (auto r = f.Bin("obs_mean", m->obs_dim, &m->obs_mean); !r) return r;
    if (auto r = f.Bin("obs_var", m->obs_dim, &m->obs_var); !r) return r;
    if (auto r = f.Float("obs_clip", &m->obs_clip); !r) return r;
    for (auto [values, key] : {std::pair{&m->log_std, "log_std"},
                               {&m->obs_mean, "obs_mean"},
                               {&m->obs_var, "obs_var"}}) {
      if (auto r = Finite(*values, key); !r) return r;
    }
    if (!std::isfinite(m->obs_clip)) return {Reject::kNonFinite, "obs_clip"};
    if (!(m->obs_clip > 0)) return {Reject::kInvalidValue, "obs_clip must be > 0"};
    for (float v : m->log_std) {
      if (v < -kMaxAbsLogStd || v > kMaxAbsLogStd) {
        return {Reject::kInvalidValue, "log_std outside [-20, 20]"};
      }
    }
    for (float v : m->obs_var) {
      if (v < 0) return {Reject::kInvalidValue, "obs_var must be >= 0"};
    }
    return DecodeResult{};
  });
}

LogpRange BehaviourLogpRange(uint32_t act_dim, const ValueBounds& bounds) {
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  const double a = act_dim, sigmas = bounds.max_sigmas, log_std = bounds.max_log_std;
  return {-a * (0.5 * sigmas * sigmas + log_std + half_log_2pi), a * (log_std - half_log_2pi)};
}

DecodeResult CheckValues(const Trajectory& m, const ValueBounds& bounds) {
  if (auto r = WithinAbs(m.obs, bounds.max_abs_obs, "obs"); !r) return r;
  if (auto r = WithinAbs(m.final_obs, bounds.max_abs_obs, "final_obs"); !r) return r;
  if (auto r = WithinAbs(m.actions, bounds.max_abs_action, "actions"); !r) return r;
  if (auto r = WithinAbs(m.rewards, bounds.max_abs_reward, "rewards"); !r) return r;
  const LogpRange range = BehaviourLogpRange(m.act_dim, bounds);
  for (size_t i = 0; i < m.logp.size(); ++i) {
    if (!(m.logp[i] >= range.min && m.logp[i] <= range.max)) {
      return {Reject::kOutOfRange, "logp[" + std::to_string(i) + "] = " + Num(m.logp[i]) +
                                       ", outside [" + Num(range.min) + ", " + Num(range.max) +
                                       "]"};
    }
  }
  for (const EpisodeSummary& e : m.episodes) {
    if (std::fabs(e.episode_return) > bounds.max_abs_return) {
      return {Reject::kOutOfRange, "episodes[].return = " + Num(e.episode_return) + ", beyond " +
                                       Num(bounds.max_abs_return)};
    }
  }
  return {};
}

Reject CheckPolicyVersion(uint64_t version, uint64_t current, uint64_t max_lag) {
  if (version > current) return Reject::kFuture;
  if (current - version > max_lag) return Reject::kStale;
  return Reject::kNone;
}

}  // namespace hoverslam::wire
