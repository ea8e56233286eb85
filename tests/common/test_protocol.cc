// Wire protocol v2: round trips, one crafted message per rejection reason, tolerance of
// other encoders (key order, unknown keys, integer widths), the credit flow's ready and
// grant, and the versions each message accepts.
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "common/rng.h"
#include "tests/support/wire_compare.h"

namespace hoverslam::wire {
namespace {

Trajectory RandomTrajectory(Rng& rng, uint32_t t, uint32_t n, uint32_t d, uint32_t a) {
  Trajectory m;
  m.run = "run-" + std::to_string(rng.NextU64() % 1000);
  m.actor = "actor-7";
  m.policy_version = rng.NextU64() >> 20;
  m.Resize(t, n, d, a);
  for (float& x : m.obs) x = rng.Uniform(-50, 50);
  for (float& x : m.actions) x = rng.Normal();
  for (float& x : m.logp) x = rng.Uniform(-5, 0);
  for (float& x : m.rewards) x = rng.Uniform(-1, 1);
  for (uint64_t i = 0; i < m.transitions(); ++i) {
    const uint64_t r = rng.NextU64() % 10;
    m.terminated[i] = r == 0;
    m.truncated[i] = r == 1;
    if (m.truncated[i]) {
      m.final_idx.push_back(static_cast<uint32_t>(i));
      for (uint32_t k = 0; k < d; ++k) m.final_obs.push_back(rng.Uniform(-50, 50));
    }
    if (r <= 1)
      m.episodes.push_back(
          {rng.Uniform(-100, 100), static_cast<uint32_t>(1 + (r << 4)), kEndedOutcomes[r]});
  }
  return m;
}

Weights RandomWeights(Rng& rng, uint32_t d, uint32_t a, std::vector<uint32_t> hidden) {
  Weights w;
  w.run = "abc";
  w.policy_version = 12;
  w.obs_dim = d;
  w.act_dim = a;
  w.activation = Activation::kElu;
  hidden.push_back(a);
  uint32_t in = d;
  for (uint32_t out : hidden) {
    Layer l{in, out, std::vector<float>(out * in), std::vector<float>(out)};
    for (float& x : l.w) x = rng.Normal();
    for (float& x : l.b) x = rng.Normal();
    w.layers.push_back(l);
    in = out;
  }
  w.log_std.assign(a, -0.5f);
  for (uint32_t k = 0; k < d; ++k) {
    w.obs_mean.push_back(rng.Uniform(-1, 1));
    w.obs_var.push_back(rng.Uniform(0, 4));
  }
  w.obs_clip = 5;
  return w;
}

using testing::ExpectSameTrajectory;
using testing::SameBits;

DecodeResult DecodeT(const std::vector<char>& bytes, Trajectory* out, Expect expect = {}) {
  return Decode(bytes.data(), bytes.size(), Limits{}, expect, out);
}

// Re-packs an encoded message after `edit` changes its top-level entries: the
// way to craft messages no correct encoder would write.
using Entries = std::vector<std::pair<std::string, msgpack::object>>;
std::vector<char> Edit(const std::vector<char>& bytes,
                       const std::function<void(Entries&, msgpack::zone&)>& edit) {
  msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
  Entries entries;
  for (uint32_t i = 0; i < oh.get().via.map.size; ++i) {
    const auto& kv = oh.get().via.map.ptr[i];
    entries.emplace_back(kv.key.as<std::string>(), kv.val);
  }
  msgpack::zone zone;
  edit(entries, zone);
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(static_cast<uint32_t>(entries.size()));
  for (const auto& [key, value] : entries) {
    pk.pack(key);
    pk.pack(value);
  }
  return std::vector<char>(buffer.data(), buffer.data() + buffer.size());
}

template <typename T>
std::function<void(Entries&, msgpack::zone&)> Set(const std::string& key, T value) {
  return [key, value](Entries& e, msgpack::zone& zone) {
    for (auto& [k, v] : e) {
      if (k == key) v = msgpack::object(value, zone);
    }
  };
}

std::vector<char> Valid(Trajectory* out = nullptr) {
  Rng rng(1);
  Trajectory m = RandomTrajectory(rng, 8, 4, 6, 2);
  m.truncated[5] = 1;  // ensure at least one truncated and one terminated step
  m.terminated[5] = 0;
  m.terminated[6] = 1;
  m.truncated[6] = 0;
  m.final_idx.clear();
  m.final_obs.clear();
  for (uint32_t i = 0; i < m.transitions(); ++i) {
    if (m.truncated[i]) {
      m.final_idx.push_back(i);
      m.final_obs.insert(m.final_obs.end(), 6, 1.5f);
    }
  }
  std::vector<char> bytes;
  Encode(m, &bytes);
  if (out) *out = m;
  return bytes;
}

Reject Reason(const std::vector<char>& bytes, Expect expect = {}) {
  Trajectory out;
  return DecodeT(bytes, &out, expect).reason;
}

TEST(Protocol, TrajectoryRoundTripsBitIdenticalForRandomShapes) {
  Rng rng(42);
  Trajectory decoded;  // reused, as a receiver does
  for (int i = 0; i < 50; ++i) {
    const uint32_t t = 1 + rng.NextU64() % 64, n = 1 + rng.NextU64() % 32;
    const uint32_t d = 1 + rng.NextU64() % 10, a = 1 + rng.NextU64() % 4;
    const Trajectory m = RandomTrajectory(rng, t, n, d, a);
    std::vector<char> bytes;
    Encode(m, &bytes);
    const DecodeResult r = DecodeT(bytes, &decoded);
    ASSERT_TRUE(r) << RejectName(r.reason) << ": " << r.message;
    ExpectSameTrajectory(m, decoded);
  }
}

TEST(Protocol, WeightsRoundTripBitIdentical) {
  Rng rng(3);
  const Weights w = RandomWeights(rng, 6, 2, {64, 32});
  std::vector<char> bytes;
  Encode(w, &bytes);
  Weights out;
  const DecodeResult r = Decode(bytes.data(), bytes.size(), Limits{}, Expect{}, &out);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(out.run, "abc");
  EXPECT_EQ(out.policy_version, 12u);
  EXPECT_EQ(out.activation, Activation::kElu);
  ASSERT_EQ(out.layers.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.layers[i].in, w.layers[i].in);
    EXPECT_EQ(out.layers[i].out, w.layers[i].out);
    EXPECT_TRUE(SameBits(out.layers[i].w, w.layers[i].w));
    EXPECT_TRUE(SameBits(out.layers[i].b, w.layers[i].b));
  }
  EXPECT_TRUE(SameBits(out.log_std, w.log_std));
  EXPECT_TRUE(SameBits(out.obs_mean, w.obs_mean));
  EXPECT_TRUE(SameBits(out.obs_var, w.obs_var));
  EXPECT_EQ(out.obs_clip, 5.0f);
}

TEST(Protocol, AcceptsOtherEncodersKeyOrderUnknownKeysAndWideInts) {
  Trajectory m;
  const std::vector<char> bytes = Valid(&m);
  const std::vector<char> edited = Edit(bytes, [](Entries& e, msgpack::zone& zone) {
    std::reverse(e.begin(), e.end());
    std::map<std::string, std::vector<int>> nested{{"x", {1, 2, 3}}};
    e.emplace_back("future_field", msgpack::object(nested, zone));
  });
  Trajectory out;
  ASSERT_TRUE(DecodeT(edited, &out));
  ExpectSameTrajectory(m, out);

  // Hand-packed: every uint in its widest form (0xcf), floats as float64.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
  pk.pack_map(oh.get().via.map.size);
  for (uint32_t i = 0; i < oh.get().via.map.size; ++i) {
    const auto& kv = oh.get().via.map.ptr[i];
    pk.pack(kv.key);
    if (kv.val.type == msgpack::type::POSITIVE_INTEGER) {
      pk.pack_fix_uint64(kv.val.via.u64);
    } else if (kv.key.as<std::string>() == "episodes") {
      pk.pack_array(kv.val.via.array.size);
      for (uint32_t j = 0; j < kv.val.via.array.size; ++j) {
        const auto& e = kv.val.via.array.ptr[j].via.map;
        pk.pack_map(e.size);
        for (uint32_t k = 0; k < e.size; ++k) {
          pk.pack(e.ptr[k].key);
          if (e.ptr[k].val.type == msgpack::type::FLOAT32) {
            pk.pack_double(e.ptr[k].val.via.f64);
          } else if (e.ptr[k].val.type == msgpack::type::POSITIVE_INTEGER) {
            pk.pack_fix_uint32(static_cast<uint32_t>(e.ptr[k].val.via.u64));
          } else {
            pk.pack(e.ptr[k].val);
          }
        }
      }
    } else {
      pk.pack(kv.val);
    }
  }
  const std::vector<char> wide(buffer.data(), buffer.data() + buffer.size());
  EXPECT_GT(wide.size(), bytes.size());
  ASSERT_TRUE(DecodeT(wide, &out));
  ExpectSameTrajectory(m, out);
}

TEST(Protocol, RejectNamesAreStableAndDistinct) {
  // The count is the enum's: a reason added before kCount gets a metric child and a name.
  static_assert(kNumRejectReasons == static_cast<int>(Reject::kCount));
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(Reject::kCount); ++i) {
    const std::string name(RejectName(static_cast<Reject>(i)));
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_NE(name, "unknown") << i;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kNumRejectReasons));
  EXPECT_EQ(RejectName(Reject::kShapeMismatch), "shape_mismatch");
  EXPECT_EQ(RejectName(Reject::kStale), "stale");
  EXPECT_EQ(RejectName(Reject::kWrongDims), "wrong_dims");
  EXPECT_EQ(RejectName(Reject::kOutOfRange), "out_of_range");
  EXPECT_EQ(RejectName(Reject::kNoCredit), "no_credit");
}

TEST(ProtocolReject, Malformed) {
  EXPECT_EQ(Reason({'\xc1'}), Reject::kMalformed);  // a byte msgpack never uses
  EXPECT_EQ(Reason({}), Reject::kMalformed);        // empty frame
  std::vector<char> bytes = Valid();
  EXPECT_EQ(Reason(std::vector<char>(bytes.begin(), bytes.end() - 10)), Reject::kMalformed);
  bytes.push_back('\x00');  // trailing byte
  EXPECT_EQ(Reason(bytes), Reject::kMalformed);
  EXPECT_EQ(Reason({'\x93', '\x01', '\x02', '\x03'}), Reject::kMalformed);  // array, not map
  const std::vector<char> dup =
      Edit(Valid(), [](Entries& e, msgpack::zone&) { e.push_back(e.front()); });
  EXPECT_EQ(Reason(dup), Reject::kMalformed);
  // An array header claiming 4 billion elements in 5 bytes: refused before any allocation.
  EXPECT_EQ(Reason({'\xdd', '\xff', '\xff', '\xff', '\xff'}), Reject::kMalformed);
}

TEST(ProtocolReject, MissingKey) {
  const auto bytes = Edit(Valid(), [](Entries& e, msgpack::zone&) {
    e.erase(std::remove_if(e.begin(), e.end(), [](auto& kv) { return kv.first == "logp"; }),
            e.end());
  });
  Trajectory out;
  const DecodeResult r = DecodeT(bytes, &out);
  EXPECT_EQ(r.reason, Reject::kMissingKey);
  EXPECT_EQ(r.message, "logp");
}

TEST(ProtocolReject, BadType) {
  EXPECT_EQ(Reason(Edit(Valid(), Set("num_steps", std::string("8")))), Reject::kBadType);
  EXPECT_EQ(Reason(Edit(Valid(), Set("num_steps", -8))), Reject::kBadType);
  EXPECT_EQ(Reason(Edit(Valid(), Set("episodes", 3))), Reject::kBadType);
}

TEST(ProtocolReject, WrongProto) {
  EXPECT_EQ(Reason(Edit(Valid(), Set("proto", 2))), Reject::kNone);
  EXPECT_EQ(Reason(Edit(Valid(), Set("proto", 3))), Reject::kWrongProto);
  EXPECT_EQ(Reason(Edit(Valid(), Set("proto", 0))), Reject::kWrongProto);
  // A v1 actor sends trajectories nobody asked for: told to upgrade, whichever decoder reads it.
  Trajectory t;
  const DecodeResult r = DecodeT(Edit(Valid(), Set("proto", 1)), &t);
  EXPECT_EQ(r.reason, Reject::kWrongProto);
  EXPECT_NE(r.message.find("proto 1, expected 2"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("upgrade"), std::string::npos) << r.message;
  const std::vector<char> v1 = Edit(Valid(), Set("proto", 1));
  ActorMessage m;
  EXPECT_EQ(Decode(v1.data(), v1.size(), Limits{}, Expect{}, &m).reason, Reject::kWrongProto);
}

// Weights did not change in v2: a policy file written under v1 still loads, field for field.
TEST(ProtocolReject, WeightsAcceptProtoOneAndTwoOnly) {
  Rng rng(5);
  const Weights w = RandomWeights(rng, 6, 2, {16});
  std::vector<char> bytes;
  Encode(w, &bytes);
  auto reason = [](const std::vector<char>& b, Weights* out) {
    return Decode(b.data(), b.size(), Limits{}, Expect{}, out).reason;
  };
  Weights out;
  ASSERT_EQ(reason(Edit(bytes, Set("proto", 1)), &out), Reject::kNone);
  EXPECT_EQ(out.policy_version, w.policy_version);
  EXPECT_EQ(out.run, w.run);
  ASSERT_EQ(out.layers.size(), w.layers.size());
  for (size_t i = 0; i < w.layers.size(); ++i)
    EXPECT_TRUE(SameBits(out.layers[i].w, w.layers[i].w));
  EXPECT_TRUE(SameBits(out.obs_var, w.obs_var));
  EXPECT_EQ(reason(bytes, &out), Reject::kNone);
  EXPECT_EQ(reason(Edit(bytes, Set("proto", 3)), &out), Reject::kWrongProto);
  EXPECT_EQ(reason(Edit(bytes, Set("proto", 0)), &out), Reject::kWrongProto);
}

TEST(ProtocolReject, WrongType) {
  const std::vector<char> bytes = Valid();
  Weights w;
  EXPECT_EQ(Decode(bytes.data(), bytes.size(), Limits{}, Expect{}, &w).reason, Reject::kWrongType);
  EXPECT_EQ(Reason(Edit(bytes, Set("type", std::string("weights")))), Reject::kWrongType);
}

// ---- credit flow: ready and grant -------------------------------------------------------

Ready SomeReady() { return {"run-9", "rocket", "actor-3", 41, 2048}; }
Grant SomeGrant() { return {"run-9", "rocket", 42}; }

std::vector<char> Encoded(const Ready& m) {
  std::vector<char> bytes;
  Encode(m, &bytes);
  return bytes;
}
std::vector<char> Encoded(const Grant& m) {
  std::vector<char> bytes;
  Encode(m, &bytes);
  return bytes;
}

DecodeResult DecodeA(const std::vector<char>& bytes, ActorMessage* out, Expect expect = {},
                     Limits limits = {}) {
  return Decode(bytes.data(), bytes.size(), limits, expect, out);
}
DecodeResult DecodeG(const std::vector<char>& bytes, Grant* out, Expect expect = {}) {
  return Decode(bytes.data(), bytes.size(), Limits{}, expect, out);
}

// Removes `key` from a message's top-level map.
std::function<void(Entries&, msgpack::zone&)> Drop(const std::string& key) {
  return [key](Entries& e, msgpack::zone&) {
    e.erase(std::remove_if(e.begin(), e.end(), [&](auto& kv) { return kv.first == key; }), e.end());
  };
}

TEST(ProtocolCredit, ReadyRoundTripsEveryField) {
  const uint64_t max = ~uint64_t{0};
  for (const Ready& sent : {SomeReady(), Ready{"", "mars", "a", 0, 1},
                            Ready{std::string(256, 'r'), "rocket", "x", max, uint64_t{1} << 20}}) {
    ActorMessage got;
    got.type = ActorMessage::Type::kTrajectory;  // decoding sets it
    const DecodeResult r = DecodeA(Encoded(sent), &got, Expect{"", ""});
    ASSERT_TRUE(r) << RejectName(r.reason) << ": " << r.message;
    ASSERT_EQ(got.type, ActorMessage::Type::kReady);
    EXPECT_EQ(got.ready.run, sent.run);
    EXPECT_EQ(got.ready.env, sent.env);
    EXPECT_EQ(got.ready.actor, sent.actor);
    EXPECT_EQ(got.ready.policy_version, sent.policy_version);
    EXPECT_EQ(got.ready.transitions, sent.transitions);
  }
}

TEST(ProtocolCredit, GrantRoundTripsEveryField) {
  for (const Grant& sent :
       {SomeGrant(), Grant{"", "mars", 0}, Grant{"r", "rocket", ~uint64_t{0}}}) {
    Grant got;
    const DecodeResult r = DecodeG(Encoded(sent), &got, Expect{"", ""});
    ASSERT_TRUE(r) << RejectName(r.reason) << ": " << r.message;
    EXPECT_EQ(got.run, sent.run);
    EXPECT_EQ(got.env, sent.env);
    EXPECT_EQ(got.policy_version, sent.policy_version);
  }
}

// The learner reads ready and trajectory from one socket with one decode; reusing `out`
// across types must not leak fields of the previous message.
TEST(ProtocolCredit, ActorMessageTellsReadyFromTrajectory) {
  Trajectory sent;
  const std::vector<char> trajectory = Valid(&sent);
  ActorMessage m;
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(DecodeA(trajectory, &m));
    ASSERT_EQ(m.type, ActorMessage::Type::kTrajectory);
    ExpectSameTrajectory(sent, m.trajectory);
    ASSERT_TRUE(DecodeA(Encoded(SomeReady()), &m));
    ASSERT_EQ(m.type, ActorMessage::Type::kReady);
    EXPECT_EQ(m.ready.actor, "actor-3");
    EXPECT_EQ(m.ready.transitions, 2048u);
  }
  // Both kinds meet the same Expect: run, env and (for trajectories) the model's dims.
  EXPECT_EQ(DecodeA(Encoded(SomeReady()), &m, Expect{"other", "rocket"}).reason, Reject::kWrongRun);
  EXPECT_EQ(DecodeA(Encoded(SomeReady()), &m, Expect{"run-9", "cartpole"}).reason,
            Reject::kWrongEnv);
  EXPECT_EQ(DecodeA(trajectory, &m, Expect{"", "rocket", 4, 2}).reason, Reject::kWrongDims);
  EXPECT_TRUE(DecodeA(Encoded(SomeReady()), &m, Expect{"run-9", "rocket", 4, 2}));
}

TEST(ProtocolCredit, EachChannelTakesOnlyItsTypes) {
  Rng rng(1);
  std::vector<char> weights;
  Encode(RandomWeights(rng, 6, 2, {8}), &weights);
  ActorMessage m;
  EXPECT_EQ(DecodeA(weights, &m).reason, Reject::kWrongType);  // weights on the actor channel
  EXPECT_EQ(DecodeA(Encoded(SomeGrant()), &m).reason, Reject::kWrongType);
  EXPECT_EQ(DecodeA(Edit(Valid(), Set("type", std::string("trajectory|ready"))), &m).reason,
            Reject::kWrongType);
  EXPECT_EQ(DecodeA(Edit(Encoded(SomeReady()), Set("type", std::string("Ready"))), &m).reason,
            Reject::kWrongType);
  Grant g;
  EXPECT_EQ(DecodeG(Encoded(SomeReady()), &g).reason, Reject::kWrongType);
  EXPECT_EQ(DecodeG(Valid(), &g).reason, Reject::kWrongType);
  EXPECT_EQ(DecodeG(weights, &g).reason, Reject::kWrongType);
  // The trajectory-only decoder does not take a ready.
  EXPECT_EQ(Reason(Encoded(SomeReady())), Reject::kWrongType);
}

TEST(ProtocolCredit, ReadyAndGrantRequireProtoTwo) {
  ActorMessage m;
  Grant g;
  for (int proto : {0, 1, 3}) {
    EXPECT_EQ(DecodeA(Edit(Encoded(SomeReady()), Set("proto", proto)), &m).reason,
              Reject::kWrongProto)
        << proto;
    EXPECT_EQ(DecodeG(Edit(Encoded(SomeGrant()), Set("proto", proto)), &g).reason,
              Reject::kWrongProto)
        << proto;
  }
}

TEST(ProtocolCredit, ReadyTransitionsMustBeAPossibleRollout) {
  ActorMessage m;
  Ready ready = SomeReady();
  ready.transitions = 0;
  DecodeResult r = DecodeA(Encoded(ready), &m);
  EXPECT_EQ(r.reason, Reject::kInvalidValue);
  EXPECT_NE(r.message.find("transitions"), std::string::npos) << r.message;
  const Limits limits;
  ready.transitions = limits.max_transitions;
  EXPECT_TRUE(DecodeA(Encoded(ready), &m));
  ready.transitions = limits.max_transitions + 1;
  EXPECT_EQ(DecodeA(Encoded(ready), &m).reason, Reject::kTooLarge);
  ready.transitions = ~uint64_t{0};
  EXPECT_EQ(DecodeA(Encoded(ready), &m).reason, Reject::kTooLarge);
  Limits small;
  small.max_transitions = 1000;
  ready.transitions = 2048;
  EXPECT_EQ(DecodeA(Encoded(ready), &m, Expect{}, small).reason, Reject::kTooLarge);
}

TEST(ProtocolCredit, MissingOrIllTypedKeysAreNamed) {
  ActorMessage m;
  for (const char* key :
       {"proto", "type", "run", "env", "actor", "policy_version", "transitions"}) {
    const DecodeResult r = DecodeA(Edit(Encoded(SomeReady()), Drop(key)), &m);
    EXPECT_EQ(r.reason, Reject::kMissingKey) << key;
    EXPECT_EQ(r.message, key);
  }
  Grant g;
  for (const char* key : {"proto", "type", "run", "env", "policy_version"}) {
    const DecodeResult r = DecodeG(Edit(Encoded(SomeGrant()), Drop(key)), &g);
    EXPECT_EQ(r.reason, Reject::kMissingKey) << key;
    EXPECT_EQ(r.message, key);
  }
  EXPECT_EQ(DecodeA(Edit(Encoded(SomeReady()), Set("transitions", std::string("2048"))), &m).reason,
            Reject::kBadType);
  EXPECT_EQ(DecodeA(Edit(Encoded(SomeReady()), Set("transitions", -1)), &m).reason,
            Reject::kBadType);
  EXPECT_EQ(DecodeA(Edit(Encoded(SomeReady()), Set("actor", 3)), &m).reason, Reject::kBadType);
  EXPECT_EQ(DecodeG(Edit(Encoded(SomeGrant()), Set("policy_version", 1.5)), &g).reason,
            Reject::kBadType);
  // A ready's actor string is bounded like every other.
  Ready long_name = SomeReady();
  long_name.actor.assign(257, 'a');
  EXPECT_EQ(DecodeA(Encoded(long_name), &m).reason, Reject::kTooLarge);
}

TEST(ProtocolCredit, ReadyAndGrantIgnoreUnknownKeysAndKeyOrder) {
  auto shuffle = [](Entries& e, msgpack::zone& zone) {
    std::reverse(e.begin(), e.end());
    e.emplace_back("x_credit_hint", msgpack::object(std::string("more later"), zone));
  };
  ActorMessage m;
  ASSERT_TRUE(DecodeA(Edit(Encoded(SomeReady()), shuffle), &m));
  EXPECT_EQ(m.ready.policy_version, 41u);
  Grant g;
  ASSERT_TRUE(DecodeG(Edit(Encoded(SomeGrant()), shuffle), &g));
  EXPECT_EQ(g.policy_version, 42u);
}

TEST(ProtocolReject, WrongRun) {
  Trajectory m;
  const std::vector<char> bytes = Valid(&m);
  EXPECT_EQ(Reason(bytes, Expect{"another-run", "rocket"}), Reject::kWrongRun);
  EXPECT_EQ(Reason(bytes, Expect{m.run, "rocket"}), Reject::kNone);
}

TEST(ProtocolReject, WrongEnv) {
  EXPECT_EQ(Reason(Edit(Valid(), Set("env", std::string("cartpole")))), Reject::kWrongEnv);
}

TEST(ProtocolReject, ShapeMismatch) {
  Trajectory m;
  Valid(&m);
  m.obs.pop_back();  // one float short of [T+1, N, D]
  std::vector<char> bytes;
  Encode(m, &bytes);
  EXPECT_EQ(Reason(bytes), Reject::kShapeMismatch);
  EXPECT_EQ(Reason(Edit(Valid(), Set("num_envs", 5))), Reject::kShapeMismatch);
  EXPECT_EQ(Reason(Edit(Valid(), Set("num_steps", 0))), Reject::kShapeMismatch);
}

TEST(ProtocolReject, TooLarge) {
  EXPECT_EQ(Reason(Edit(Valid(), Set("num_envs", 5000))), Reject::kTooLarge);
  Limits small;
  small.max_message_bytes = 100;
  const std::vector<char> bytes = Valid();
  Trajectory out;
  EXPECT_EQ(Decode(bytes.data(), bytes.size(), small, Expect{}, &out).reason, Reject::kTooLarge);
  Limits few_steps;
  few_steps.max_steps = 4;
  EXPECT_EQ(Decode(bytes.data(), bytes.size(), few_steps, Expect{}, &out).reason,
            Reject::kTooLarge);
}

TEST(ProtocolReject, NonFinite) {
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    Trajectory m;
    Valid(&m);
    m.rewards[3] = bad;
    std::vector<char> bytes;
    Encode(m, &bytes);
    EXPECT_EQ(Reason(bytes), Reject::kNonFinite);
  }
  Rng rng(1);
  Weights w = RandomWeights(rng, 6, 2, {8});
  w.layers[1].w[3] = std::nanf("");
  std::vector<char> bytes;
  Encode(w, &bytes);
  Weights out;
  EXPECT_EQ(Decode(bytes.data(), bytes.size(), Limits{}, Expect{}, &out).reason,
            Reject::kNonFinite);
}

TEST(ProtocolReject, InvalidValue) {
  auto with = [](const std::function<void(Trajectory&)>& change) {
    Trajectory m;
    Valid(&m);
    change(m);
    std::vector<char> bytes;
    Encode(m, &bytes);
    return Reason(bytes);
  };
  EXPECT_EQ(with([](Trajectory& m) { m.terminated[0] = 2; }), Reject::kInvalidValue);
  EXPECT_EQ(with([](Trajectory& m) { m.truncated[0] = 1; }), Reject::kInvalidValue);  // no final
  EXPECT_EQ(with([](Trajectory& m) { m.final_idx[0] = 6; }), Reject::kInvalidValue);  // terminated
  EXPECT_EQ(with([](Trajectory& m) {
              m.episodes.push_back({1, 2, Outcome::kNone});
            }),
            Reject::kInvalidValue);  // outcome "none" is not a valid ending

  Rng rng(1);
  Weights w = RandomWeights(rng, 6, 2, {8});
  w.obs_var[2] = -1;
  std::vector<char> bytes;
  Encode(w, &bytes);
  Weights out;
  EXPECT_EQ(Decode(bytes.data(), bytes.size(), Limits{}, Expect{}, &out).reason,
            Reject::kInvalidValue);
}

TEST(ProtocolReject, WeightsLayerChainMustFitDims) {
  Rng rng(1);
  Weights w = RandomWeights(rng, 6, 2, {8});
  w.layers[1].in = 7;  // 6->8 then 7->2
  w.layers[1].w.resize(14);
  std::vector<char> bytes;
  Encode(w, &bytes);
  Weights out;
  EXPECT_EQ(Decode(bytes.data(), bytes.size(), Limits{}, Expect{}, &out).reason,
            Reject::kShapeMismatch);
}

TEST(ProtocolReject, StaleAndFuturePolicyVersions) {
  EXPECT_EQ(CheckPolicyVersion(10, 10, 4), Reject::kNone);
  EXPECT_EQ(CheckPolicyVersion(6, 10, 4), Reject::kNone);  // lag 4 is allowed
  EXPECT_EQ(CheckPolicyVersion(5, 10, 4), Reject::kStale);
  EXPECT_EQ(CheckPolicyVersion(11, 10, 4), Reject::kFuture);
  EXPECT_EQ(CheckPolicyVersion(0, 0, 0), Reject::kNone);
}

TEST(ProtocolReject, WrongDims) {
  const std::vector<char> bytes = Valid();  // D = 6, A = 2
  EXPECT_EQ(Reason(bytes, Expect{"", "rocket", 6, 2}), Reject::kNone);
  EXPECT_EQ(Reason(bytes, Expect{"", "rocket", 0, 0}), Reject::kNone);  // any
  EXPECT_EQ(Reason(bytes, Expect{"", "rocket", 4, 2}), Reject::kWrongDims);
  EXPECT_EQ(Reason(bytes, Expect{"", "rocket", 6, 3}), Reject::kWrongDims);
  EXPECT_EQ(Reason(bytes, Expect{"", "rocket", 0, 3}), Reject::kWrongDims);

  Rng rng(1);
  const Weights w = RandomWeights(rng, 6, 2, {8});
  std::vector<char> weights;
  Encode(w, &weights);
  Weights out;
  EXPECT_EQ(
      Decode(weights.data(), weights.size(), Limits{}, Expect{"", "rocket", 6, 2}, &out).reason,
      Reject::kNone);
  EXPECT_EQ(
      Decode(weights.data(), weights.size(), Limits{}, Expect{"", "rocket", 8, 2}, &out).reason,
      Reject::kWrongDims);
}

TEST(ProtocolReject, BehaviourLogpRangeByHand) {
  // A = 2, |log_std| <= 20, |z| <= 30, 0.5 log(2 pi) = 0.9189385:
  //   max = 2 (20 - 0.9189385) = 38.162123
  //   min = -2 (0.5 * 900 + 20 + 0.9189385) = -941.837877
  const LogpRange range = BehaviourLogpRange(2, ValueBounds{});
  EXPECT_NEAR(range.max, 38.162123, 1e-5);
  EXPECT_NEAR(range.min, -941.837877, 1e-5);
  EXPECT_NEAR(BehaviourLogpRange(1, ValueBounds{}).max, 19.0810615, 1e-6);
}

TEST(ProtocolReject, OutOfRange) {
  Trajectory valid;
  Valid(&valid);
  EXPECT_EQ(CheckValues(valid, ValueBounds{}).reason, Reject::kNone);
  auto with = [&](const std::function<void(Trajectory&)>& change) {
    Trajectory m = valid;
    change(m);
    // Decode accepts it (finite, well-formed); CheckValues does not.
    std::vector<char> bytes;
    Encode(m, &bytes);
    EXPECT_EQ(Reason(bytes), Reject::kNone);
    return CheckValues(m, ValueBounds{}).reason;
  };
  EXPECT_EQ(with([](Trajectory& m) { m.rewards[3] = 1e30f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.rewards[3] = -2e4f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.rewards[3] = -9e3f; }), Reject::kNone);
  EXPECT_EQ(with([](Trajectory& m) { m.obs[7] = 1e20f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.final_obs[0] = -2e4f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.actions[1] = 2e4f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) {
              m.episodes.push_back({-1e30f, 10, Outcome::kCrashed});
            }),
            Reject::kOutOfRange);
  // logp: a sample 1e15 sigmas out; a density above any Gaussian with log_std >= -20; and the
  // bounds worked out above, just inside and just outside.
  EXPECT_EQ(with([](Trajectory& m) { m.logp[2] = -1e30f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.logp[2] = 1e4f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.logp[2] = 38.16f; }), Reject::kNone);
  EXPECT_EQ(with([](Trajectory& m) { m.logp[2] = 38.17f; }), Reject::kOutOfRange);
  EXPECT_EQ(with([](Trajectory& m) { m.logp[2] = -941.8f; }), Reject::kNone);
  EXPECT_EQ(with([](Trajectory& m) { m.logp[2] = -941.9f; }), Reject::kOutOfRange);
  const DecodeResult r = [&] {
    Trajectory m = valid;
    m.rewards[3] = 1e30f;
    return CheckValues(m, ValueBounds{});
  }();
  EXPECT_EQ(r.message, "rewards[3] = 1e+30, beyond 10000");
}

}  // namespace
}  // namespace hoverslam::wire
