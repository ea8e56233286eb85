// libFuzzer target for every wire decoder (common/protocol.cc). Every input goes to the
// trajectory, weights, grant and actor-message (ready or trajectory) decoders. Oracles
// besides the sanitizers:
//  - a decoder never throws;
//  - accepted or not, the arrays it allocated fit in the input: every value comes
//    from a bin of the message, so a few bytes claiming huge shapes must not make
//    the receiver allocate (a memory-exhaustion attack on the learner);
//  - an accepted message re-encodes to bytes that decode again and re-encode to the
//    same bytes (decode and encode agree on the contract);
//  - the learner's further checks run on it: with its dims expected, the same bytes are
//    accepted exactly when the dims are the rocket's (else wrong_dims), and CheckValues
//    answers kNone or kOutOfRange;
//  - the actor-message decoder agrees with the trajectory decoder: the same verdict on a
//    trajectory, wrong_type from the latter on a ready, and an accepted ready asks for
//    1..max_transitions transitions.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "common/protocol.h"

namespace {

using hoverslam::wire::ActorMessage;
using hoverslam::wire::CheckValues;
using hoverslam::wire::Decode;
using hoverslam::wire::DecodeResult;
using hoverslam::wire::Encode;
using hoverslam::wire::Expect;
using hoverslam::wire::Limits;
using hoverslam::wire::Reject;
using hoverslam::wire::RejectName;

void Fail(const char* what, const DecodeResult& r) {
  std::fprintf(stderr, "%s: %s: %s\n", what, RejectName(r.reason).data(), r.message.c_str());
  std::abort();
}

// The learner's checks beyond Decode's: Expect with its model's dims, then CheckValues.
template <typename Msg>
void LearnerChecks(const uint8_t* data, size_t size, const Limits& limits, const Msg& accepted) {
  Expect learner{"", "rocket", 6, 2};
  Msg msg;
  const DecodeResult r = Decode(data, size, limits, learner, &msg);
  const bool fits = accepted.obs_dim == 6 && accepted.act_dim == 2;
  if (fits ? !r : r.reason != Reject::kWrongDims) Fail("dims check disagrees", r);
  if constexpr (std::is_same_v<Msg, hoverslam::wire::Trajectory>) {
    const DecodeResult v = CheckValues(accepted, hoverslam::wire::ValueBounds{});
    if (v.reason != Reject::kNone && v.reason != Reject::kOutOfRange) Fail("CheckValues", v);
  }
}

template <typename T>
size_t Bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

size_t ArrayBytes(const hoverslam::wire::Trajectory& m) {
  return Bytes(m.obs) + Bytes(m.actions) + Bytes(m.logp) + Bytes(m.rewards) + Bytes(m.terminated) +
         Bytes(m.truncated) + Bytes(m.final_idx) + Bytes(m.final_obs);
}

size_t ArrayBytes(const hoverslam::wire::Weights& m) {
  size_t bytes = Bytes(m.log_std) + Bytes(m.obs_mean) + Bytes(m.obs_var);
  for (const hoverslam::wire::Layer& l : m.layers) bytes += Bytes(l.w) + Bytes(l.b);
  return bytes;
}

size_t ArrayBytes(const hoverslam::wire::Grant&) { return 0; }

size_t ArrayBytes(const ActorMessage& m) { return ArrayBytes(m.trajectory); }

// Encodes what an actor message holds: a ready or a trajectory.
void Encode(const ActorMessage& m, std::vector<char>* out) {
  if (m.type == ActorMessage::Type::kReady) {
    hoverslam::wire::Encode(m.ready, out);
  } else {
    hoverslam::wire::Encode(m.trajectory, out);
  }
}

// The learner's checks of what arrives on its ROUTER: for a trajectory those of the
// trajectory decoder; a ready has no dims to check.
void LearnerChecks(const uint8_t* data, size_t size, const Limits& limits,
                   const ActorMessage& accepted) {
  if (accepted.type == ActorMessage::Type::kTrajectory) {
    LearnerChecks(data, size, limits, accepted.trajectory);
    return;
  }
  if (accepted.ready.transitions == 0 || accepted.ready.transitions > limits.max_transitions) {
    std::fprintf(stderr, "accepted a ready for %llu transitions\n",
                 static_cast<unsigned long long>(accepted.ready.transitions));
    std::abort();
  }
  ActorMessage msg;
  const DecodeResult r = Decode(data, size, limits, Expect{"", "rocket", 6, 2}, &msg);
  if (!r) Fail("a ready was refused for the learner's dims", r);
}

void LearnerChecks(const uint8_t*, size_t, const Limits&, const hoverslam::wire::Grant&) {}

// One parse for the learner's socket must say what the trajectory decoder says. The two share
// every check up to `type`: unless the trajectory decoder found another type, both give the
// same verdict; and a ready accepted by one is wrong_type to the other.
void AgreesWithTrajectoryDecoder(const uint8_t* data, size_t size, const Limits& limits,
                                 const Expect& expect) {
  ActorMessage any;
  hoverslam::wire::Trajectory only;
  const DecodeResult a = Decode(data, size, limits, expect, &any);
  const DecodeResult t = Decode(data, size, limits, expect, &only);
  if (a && any.type == ActorMessage::Type::kReady) {
    if (t.reason != Reject::kWrongType) Fail("the trajectory decoder took a ready", t);
    return;
  }
  if (t.reason == Reject::kWrongType) {
    if (a) Fail("the actor-message decoder took a trajectory of another type", a);
    return;
  }
  if (a.reason != t.reason) {
    std::fprintf(stderr, "actor message %s (%s), trajectory %s (%s)\n", RejectName(a.reason).data(),
                 a.message.c_str(), RejectName(t.reason).data(), t.message.c_str());
    std::abort();
  }
  if (!t) return;
  std::vector<char> from_any, from_only;
  Encode(any.trajectory, &from_any);
  Encode(only, &from_only);
  if (from_any != from_only) {
    std::fprintf(stderr, "the two decoders read different trajectories\n");
    std::abort();
  }
}

template <typename Msg>
void RoundTrip(const uint8_t* data, size_t size, const Limits& limits, const Expect& expect) {
  Msg msg;
  const DecodeResult result = Decode(data, size, limits, expect, &msg);
  if (ArrayBytes(msg) > size) {
    std::fprintf(stderr,
                 "a %zu-byte input made the decoder allocate %zu bytes of arrays (%s: %s)\n", size,
                 ArrayBytes(msg), RejectName(result.reason).data(), result.message.c_str());
    std::abort();
  }
  if (!result) return;
  LearnerChecks(data, size, limits, msg);
  std::vector<char> once, twice;
  Encode(msg, &once);
  Msg again;
  const DecodeResult r = Decode(once.data(), once.size(), limits, expect, &again);
  if (!r) Fail("re-encoded message rejected", r);
  Encode(again, &twice);
  if (once != twice) {
    std::fprintf(stderr, "decode/encode round trip is not stable\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The receivers' defaults; an empty run accepts any run, as a fresh learner does.
  static const Limits limits;
  static const Expect expect{"", "rocket"};
  RoundTrip<hoverslam::wire::Trajectory>(data, size, limits, expect);
  RoundTrip<hoverslam::wire::Weights>(data, size, limits, expect);
  RoundTrip<hoverslam::wire::Grant>(data, size, limits, expect);
  RoundTrip<ActorMessage>(data, size, limits, expect);
  AgreesWithTrajectoryDecoder(data, size, limits, expect);
  return 0;
}
