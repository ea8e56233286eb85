// hoverslam-wire: the C++ side of the wire-protocol interop test (test_interop.py)
// and the seed-corpus generator of the protocol fuzzer.
//
//   hoverslam-wire decode trajectory|weights|ready|grant FILE
//       Decodes FILE with default Limits and Expect{run: "", env: "rocket"}. Prints
//       "ok" and, on the next line, a JSON object of every decoded field; or prints
//       "reject <reason_name> <message>" and exits 1. `ready` uses the decoder of the
//       learner's trajectory channel, which takes a ready or a trajectory: the JSON's
//       "type" says which it was.
//   hoverslam-wire encode trajectory|weights|ready|grant SEED FILE
//       Writes one message with deterministic pseudo-random content to FILE and
//       prints the same JSON of its fields.
//
// JSON keys are the wire keys ("proto" is the version this build writes); arrays are
// lists; floats are printed with %.9g, which round-trips every float32.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/protocol.h"
#include "common/rng.h"

namespace hoverslam::wire {
namespace {

// Builds one JSON object; keys are written in call order. Not thread-safe.
class Json {
 public:
  std::string Take() { return std::move(out_); }

  void Open() {
    out_ += '{';
    first_ = true;
  }
  void Close() {
    out_ += '}';
    first_ = false;
  }
  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    String(key);
    out_ += ':';
  }
  void String(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out_ += buf;
      } else {
        out_ += static_cast<char>(c);
      }
    }
    out_ += '"';
  }
  void Uint(uint64_t v) { out_ += std::to_string(v); }
  void Float(float v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
    out_ += buf;
  }
  template <typename T>
  void List(const std::vector<T>& values) {
    out_ += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out_ += ',';
      if constexpr (std::is_floating_point_v<T>) {
        Float(values[i]);
      } else {
        Uint(values[i]);
      }
    }
    out_ += ']';
  }
  // Elements of an array of objects: call between ListOpen and ListClose.
  void ListOpen() { out_ += '['; }
  void ListClose() { out_ += ']'; }
  void Separator(size_t index) {
    if (index) out_ += ',';
  }

  void Field(std::string_view key, std::string_view s) {
    Key(key);
    String(s);
  }
  void Field(std::string_view key, uint64_t v) {
    Key(key);
    Uint(v);
  }
  template <typename T>
  void Field(std::string_view key, const std::vector<T>& v) {
    Key(key);
    List(v);
  }

 private:
  std::string out_;
  bool first_ = true;
};

void Common(Json& j, std::string_view type, const std::string& run, const std::string& env) {
  j.Field("proto", uint64_t{kProtocolVersion});
  j.Field("type", type);
  j.Field("run", run);
  j.Field("env", env);
}

std::string ToJson(const Trajectory& m) {
  Json j;
  j.Open();
  Common(j, "trajectory", m.run, m.env);
  j.Field("actor", m.actor);
  j.Field("policy_version", m.policy_version);
  j.Field("num_steps", uint64_t{m.num_steps});
  j.Field("num_envs", uint64_t{m.num_envs});
  j.Field("obs_dim", uint64_t{m.obs_dim});
  j.Field("act_dim", uint64_t{m.act_dim});
  j.Field("obs", m.obs);
  j.Field("actions", m.actions);
  j.Field("logp", m.logp);
  j.Field("rewards", m.rewards);
  j.Field("terminated", m.terminated);
  j.Field("truncated", m.truncated);
  j.Field("final_idx", m.final_idx);
  j.Field("final_obs", m.final_obs);
  j.Key("episodes");
  j.ListOpen();
  for (size_t i = 0; i < m.episodes.size(); ++i) {
    j.Separator(i);
    j.Open();
    j.Key("return");
    j.Float(m.episodes[i].episode_return);
    j.Field("length", uint64_t{m.episodes[i].length});
    j.Field("outcome", OutcomeName(m.episodes[i].outcome));
    j.Close();
  }
  j.ListClose();
  j.Close();
  return j.Take();
}

std::string ToJson(const Weights& m) {
  Json j;
  j.Open();
  Common(j, "weights", m.run, m.env);
  j.Field("policy_version", m.policy_version);
  j.Field("obs_dim", uint64_t{m.obs_dim});
  j.Field("act_dim", uint64_t{m.act_dim});
  j.Field("activation", ActivationName(m.activation));
  j.Key("layers");
  j.ListOpen();
  for (size_t i = 0; i < m.layers.size(); ++i) {
    j.Separator(i);
    j.Open();
    j.Field("in", uint64_t{m.layers[i].in});
    j.Field("out", uint64_t{m.layers[i].out});
    j.Field("w", m.layers[i].w);
    j.Field("b", m.layers[i].b);
    j.Close();
  }
  j.ListClose();
  j.Field("log_std", m.log_std);
  j.Field("obs_mean", m.obs_mean);
  j.Field("obs_var", m.obs_var);
  j.Key("obs_clip");
  j.Float(m.obs_clip);
  j.Close();
  return j.Take();
}

std::string ToJson(const Ready& m) {
  Json j;
  j.Open();
  Common(j, "ready", m.run, m.env);
  j.Field("actor", m.actor);
  j.Field("policy_version", m.policy_version);
  j.Field("transitions", m.transitions);
  j.Close();
  return j.Take();
}

std::string ToJson(const Grant& m) {
  Json j;
  j.Open();
  Common(j, "grant", m.run, m.env);
  j.Field("policy_version", m.policy_version);
  j.Close();
  return j.Take();
}

std::string ToJson(const ActorMessage& m) {
  return m.type == ActorMessage::Type::kReady ? ToJson(m.ready) : ToJson(m.trajectory);
}

uint32_t Below(Rng& rng, uint32_t n) { return static_cast<uint32_t>(rng.NextU64() % n); }

// A policy_version of a seed-dependent width, so every msgpack uint width shows up.
uint64_t AnyWidthVersion(Rng& rng) {
  const uint64_t bits = rng.NextU64();
  return bits >> Below(rng, 64);
}

// Small shapes, at least 2 steps x 2 envs so one step can be truncated and another
// terminated; values of every sign and magnitude the env produces.
Trajectory MakeTrajectory(uint64_t seed) {
  Rng rng(seed);
  Trajectory m;
  m.run = "run-" + std::to_string(seed);
  m.actor = "actor-" + std::to_string(seed % 7);
  m.policy_version = AnyWidthVersion(rng);
  // One statement per draw: argument evaluation order is unspecified.
  const uint32_t t = 2 + Below(rng, 6);
  const uint32_t n = 2 + Below(rng, 4);
  const uint32_t d = 1 + Below(rng, 8);
  const uint32_t a = 1 + Below(rng, 3);
  m.Resize(t, n, d, a);
  for (float& v : m.obs) v = rng.Uniform(-50.0f, 50.0f);
  for (float& v : m.actions) v = rng.Uniform(-3.0f, 3.0f);
  for (float& v : m.logp) v = rng.Uniform(-8.0f, 1.0f);
  for (float& v : m.rewards) v = rng.Uniform(-100.0f, 100.0f) * rng.Uniform();
  const uint32_t tn = static_cast<uint32_t>(m.transitions());
  for (uint32_t i = 0; i < tn; ++i) {
    const uint32_t u = Below(rng, 8);
    m.terminated[i] = u == 0;
    m.truncated[i] = u == 1;
  }
  // At least one truncated and one terminated step, on different flat indices.
  const uint32_t trunc_at = Below(rng, tn);
  const uint32_t term_at = (trunc_at + 1 + Below(rng, tn - 1)) % tn;
  m.truncated[trunc_at] = 1;
  m.terminated[trunc_at] = 0;
  m.terminated[term_at] = 1;
  m.truncated[term_at] = 0;
  for (uint32_t i = 0; i < tn; ++i) {
    if (!m.truncated[i]) continue;
    m.final_idx.push_back(i);
    for (uint32_t d = 0; d < m.obs_dim; ++d) m.final_obs.push_back(rng.Uniform(-50.0f, 50.0f));
  }
  m.episodes.resize(2 + Below(rng, 3));
  for (EpisodeSummary& e : m.episodes) {
    e.episode_return = rng.Uniform(-300.0f, 300.0f);
    e.length = 1 + Below(rng, 1000);
    e.outcome = kEndedOutcomes[Below(rng, 4)];
  }
  return m;
}

Weights MakeWeights(uint64_t seed) {
  Rng rng(seed);
  Weights m;
  m.run = "run-" + std::to_string(seed);
  m.policy_version = AnyWidthVersion(rng);
  m.obs_dim = 1 + Below(rng, 8);
  m.act_dim = 1 + Below(rng, 3);
  m.activation = static_cast<Activation>(Below(rng, 3));
  const uint32_t hidden = Below(rng, 3);  // 0 hidden layers is a linear policy
  uint32_t in = m.obs_dim;
  for (uint32_t i = 0; i <= hidden; ++i) {
    Layer l;
    l.in = in;
    l.out = i == hidden ? m.act_dim : 1 + Below(rng, 8);
    l.w.resize(size_t{l.out} * l.in);
    l.b.resize(l.out);
    for (float& v : l.w) v = rng.Uniform(-1.0f, 1.0f);
    for (float& v : l.b) v = rng.Uniform(-0.1f, 0.1f);
    in = l.out;
    m.layers.push_back(std::move(l));
  }
  m.log_std.resize(m.act_dim);
  m.obs_mean.resize(m.obs_dim);
  m.obs_var.resize(m.obs_dim);
  for (float& v : m.log_std) v = rng.Uniform(-2.0f, 0.5f);
  for (float& v : m.obs_mean) v = rng.Uniform(-40.0f, 40.0f);
  for (float& v : m.obs_var) v = rng.Uniform(0.0f, 100.0f);
  m.obs_clip = rng.Uniform(1.0f, 10.0f);
  return m;
}

// Transitions of every msgpack uint width up to Limits' 2^20.
Ready MakeReady(uint64_t seed) {
  Rng rng(seed);
  Ready m;
  m.run = "run-" + std::to_string(seed);
  m.actor = "actor-" + std::to_string(seed % 7);
  m.policy_version = AnyWidthVersion(rng);
  const uint32_t bits = 4 * Below(rng, 6);  // up to 2^20, so fixint, u8, u16 and u32 all occur
  m.transitions = 1 + Below(rng, 1u << bits);
  return m;
}

Grant MakeGrant(uint64_t seed) {
  Rng rng(seed);
  Grant m;
  m.run = "run-" + std::to_string(seed);
  m.policy_version = AnyWidthVersion(rng);
  return m;
}

int Usage() {
  std::fprintf(stderr,
               "usage: hoverslam-wire decode trajectory|weights|ready|grant FILE\n"
               "       hoverslam-wire encode trajectory|weights|ready|grant SEED FILE\n");
  return 2;
}

template <typename Msg>
int DecodeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 2;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  Msg msg;
  const DecodeResult r = Decode(bytes.data(), bytes.size(), Limits{}, Expect{"", "rocket"}, &msg);
  if (!r) {
    const std::string_view name = RejectName(r.reason);
    std::printf("reject %.*s %s\n", static_cast<int>(name.size()), name.data(), r.message.c_str());
    return 1;
  }
  std::printf("ok\n%s\n", ToJson(msg).c_str());
  return 0;
}

template <typename Msg>
int EncodeFile(const Msg& msg, const std::string& path) {
  std::vector<char> bytes;
  Encode(msg, &bytes);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 2;
  }
  std::printf("%s\n", ToJson(msg).c_str());
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const std::string verb = argv[1], type = argv[2];
  if (verb == "decode" && argc == 4) {
    if (type == "trajectory") return DecodeFile<Trajectory>(argv[3]);
    if (type == "weights") return DecodeFile<Weights>(argv[3]);
    if (type == "ready") return DecodeFile<ActorMessage>(argv[3]);
    if (type == "grant") return DecodeFile<Grant>(argv[3]);
    return Usage();
  }
  if (verb == "encode" && argc == 5) {
    char* end = nullptr;
    const uint64_t seed = std::strtoull(argv[3], &end, 10);
    if (*end != '\0') return Usage();
    if (type == "trajectory") return EncodeFile(MakeTrajectory(seed), argv[4]);
    if (type == "weights") return EncodeFile(MakeWeights(seed), argv[4]);
    if (type == "ready") return EncodeFile(MakeReady(seed), argv[4]);
    if (type == "grant") return EncodeFile(MakeGrant(seed), argv[4]);
    return Usage();
  }
  return Usage();
}

}  // namespace
}  // namespace hoverslam::wire

int main(int argc, char** argv) { return hoverslam::wire::Main(argc, argv); }
