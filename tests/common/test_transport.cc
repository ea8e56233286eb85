// Real sockets: the wire protocol over ZeroMQ ipc:// and tcp://127.0.0.1. Trajectories go
// DEALER -> ROUTER (which sees [routing id, payload]); grants come back on the same
// connection; weights go PUB -> SUB.
#include <gtest/gtest.h>

#include <zmq.hpp>

#include <stdlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "common/rng.h"
#include "common/zmq_sockets.h"
#include "tests/common/curve_test_util.h"
#include "tests/support/files.h"
#include "tests/support/process.h"
#include "tests/support/wire_compare.h"

namespace hoverslam {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(10);

// The next message on `socket`, or nullopt when none arrives before `timeout`.
std::optional<zmq::message_t> RecvWithin(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return std::nullopt;
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    if (item.revents & ZMQ_POLLIN) {
      zmq::message_t msg;
      if (socket.recv(msg, zmq::recv_flags::dontwait)) return msg;
    }
  }
}

// A message as a ROUTER receives it: the routing id of the connection, then the payload.
struct Routed {
  std::string peer;
  zmq::message_t payload;
};

std::optional<Routed> RecvRouted(zmq::socket_t& router, std::chrono::milliseconds timeout) {
  std::optional<zmq::message_t> id = RecvWithin(router, timeout);
  if (!id) return std::nullopt;
  EXPECT_TRUE(id->more()) << "a ROUTER prefixes every message with the routing id";
  zmq::message_t payload;
  (void)router.recv(payload, zmq::recv_flags::none);  // the frames of a message arrive together
  EXPECT_FALSE(payload.more());
  return Routed{id->to_string(), std::move(payload)};
}

// Sends `bytes` to the connection `peer` of a ROUTER; throws EHOSTUNREACH when it is gone.
void SendTo(zmq::socket_t& router, const std::string& peer, const std::vector<char>& bytes) {
  router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  router.send(zmq::buffer(bytes), zmq::send_flags::none);
}

bool CanSendWithin(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
  zmq::poll(&item, 1, timeout);
  return (item.revents & ZMQ_POLLOUT) != 0;
}

void SendBytes(zmq::socket_t& socket, const std::vector<char>& bytes) {
  ASSERT_TRUE(
      CanSendWithin(socket, std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline)))
      << "sender blocked";
  ASSERT_TRUE(socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait));
}

// Binds a maker on tcp://127.0.0.1 at the first free port from a random start.
template <typename Make>
std::pair<zmq::socket_t, std::string> BindFreeTcp(Make&& make) {
  std::random_device seed;
  const int start = 20000 + static_cast<int>(seed() % 30000);
  for (int port = start; port < start + 500; ++port) {
    const std::string endpoint = Endpoint("127.0.0.1", port);
    try {
      return {make(endpoint), endpoint};
    } catch (const std::runtime_error&) {
      // in use: try the next one
    }
  }
  throw std::runtime_error("no free tcp port in 500 tries");
}

// T = num_steps, N = num_envs: env-like values, some episode ends, two summaries.
wire::Trajectory RandomTrajectory(uint32_t t, uint32_t n, uint64_t seed) {
  Rng rng(seed);
  wire::Trajectory m;
  m.run = "transport-test";
  m.actor = "actor-0";
  m.policy_version = 41;
  m.Resize(t, n, 6, 2);
  for (float& v : m.obs) v = rng.Uniform(-40.0f, 40.0f);
  for (float& v : m.actions) v = rng.Normal();
  for (float& v : m.logp) v = rng.Uniform(-6.0f, 0.0f);
  for (float& v : m.rewards) v = rng.Normal();
  for (size_t i = 0; i < m.terminated.size(); ++i) {
    const uint64_t u = rng.NextU64() % 200;
    m.terminated[i] = u == 0;
    m.truncated[i] = u == 1;
    if (u == 1) {
      m.final_idx.push_back(static_cast<uint32_t>(i));
      for (int d = 0; d < 6; ++d) m.final_obs.push_back(rng.Uniform(-40.0f, 40.0f));
    }
  }
  m.episodes = {{-12.5f, 300, Outcome::kCrashed}, {140.25f, 600, Outcome::kTimeout}};
  return m;
}

using testing::ExpectSameTrajectory;
using testing::SameBits;

wire::Weights SmallWeights(uint64_t version) {
  wire::Weights w;
  w.run = "transport-test";
  w.policy_version = version;
  w.obs_dim = 2;
  w.act_dim = 1;
  w.layers = {{2, 1, {0.5f, -0.25f}, {0.125f}}};
  w.log_std = {-0.5f};
  w.obs_mean = {0.0f, 1.0f};
  w.obs_var = {1.0f, 4.0f};
  return w;
}

std::optional<wire::Weights> DecodeWeights(const zmq::message_t& msg) {
  wire::Weights w;
  if (!wire::Decode(msg.data(), msg.size(), wire::Limits{}, wire::Expect{}, &w)) {
    return std::nullopt;
  }
  return w;
}

// Each test runs once over ipc:// and once over tcp://127.0.0.1. Not thread-safe.
class Transport : public ::testing::TestWithParam<std::string> {
 protected:
  // Binds the learner's ROUTER on this transport; returns the endpoint to connect to.
  std::string BindRouter(const ZmqConfig& config) {
    auto make = [&](const std::string& endpoint) {
      return MakeTrajectoryRouter(ctx_, endpoint, config);
    };
    if (GetParam() == "ipc") {
      const std::string endpoint = "ipc://" + dir_.path() + "/trajectories.sock";
      router_ = make(endpoint);
      return endpoint;
    }
    auto [socket, endpoint] = BindFreeTcp(make);
    router_ = std::move(socket);
    return endpoint;
  }

  std::string BindPub(const ZmqConfig& config) {
    auto make = [&](const std::string& endpoint) { return MakeWeightsPub(ctx_, endpoint, config); };
    if (GetParam() == "ipc") {
      const std::string endpoint = "ipc://" + dir_.path() + "/weights.sock";
      pub_ = make(endpoint);
      return endpoint;
    }
    auto [socket, endpoint] = BindFreeTcp(make);
    pub_ = std::move(socket);
    return endpoint;
  }

  testing::TempDir dir_{"hoverslam-transport"};  // for ipc:// socket files
  zmq::context_t ctx_;
  zmq::socket_t router_, pub_;
};

TEST_P(Transport, TwoMegabyteTrajectoryArrivesWholeAndBitIdentical) {
  const std::string endpoint = BindRouter(ZmqConfig{});
  zmq::socket_t dealer = MakeTrajectoryDealer(ctx_, endpoint, ZmqConfig{});
  const wire::Trajectory sent = RandomTrajectory(800, 64, 7);  // 51,200 transitions: 2.16 MB
  ASSERT_FALSE(sent.final_idx.empty());
  std::vector<char> bytes;
  wire::Encode(sent, &bytes);
  ASSERT_GT(bytes.size(), 2u << 20);
  SendBytes(dealer, bytes);

  std::optional<Routed> got = RecvRouted(router_, kDeadline);
  ASSERT_TRUE(got.has_value()) << "nothing arrived over " << endpoint;
  const zmq::message_t& payload = got->payload;
  ASSERT_EQ(payload.size(), bytes.size());
  EXPECT_EQ(std::memcmp(payload.data(), bytes.data(), bytes.size()), 0);
  wire::ActorMessage received;
  const wire::DecodeResult r =
      wire::Decode(payload.data(), payload.size(), wire::Limits{}, wire::Expect{}, &received);
  ASSERT_TRUE(r) << wire::RejectName(r.reason) << ": " << r.message;
  ASSERT_EQ(received.type, wire::ActorMessage::Type::kTrajectory);
  ExpectSameTrajectory(sent, received.trajectory);
}

// ZMQ_MAXMSGSIZE makes the receiver drop an oversized message (and the connection
// that carried it); the sender reconnects and normal messages flow again.
TEST_P(Transport, OversizedMessageIsDroppedAndTheNextOneArrives) {
  ZmqConfig small;
  small.max_message_bytes = 64 << 10;
  const std::string endpoint = BindRouter(small);
  zmq::socket_t push = MakeTrajectoryDealer(ctx_, endpoint, ZmqConfig{});

  std::vector<char> normal, oversized;
  wire::Encode(RandomTrajectory(16, 4, 1), &normal);
  wire::Encode(RandomTrajectory(256, 16, 2), &oversized);
  ASSERT_LT(normal.size(), static_cast<size_t>(small.max_message_bytes));
  ASSERT_GT(oversized.size(), static_cast<size_t>(small.max_message_bytes));

  // The connection is up: a normal message gets through.
  SendBytes(push, normal);
  std::optional<Routed> first = RecvRouted(router_, kDeadline);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->payload.size(), normal.size());

  SendBytes(push, oversized);
  // A normal message sent right behind the oversized one may be lost with the
  // dropped connection, so keep offering normal messages until one arrives.
  const auto deadline = Clock::now() + kDeadline;
  int offered = 0;
  std::optional<Routed> next;
  while (!next && Clock::now() < deadline) {
    if (CanSendWithin(push, std::chrono::milliseconds(10))) {
      ASSERT_TRUE(push.send(zmq::buffer(normal), zmq::send_flags::dontwait));
      ++offered;
    }
    next = RecvRouted(router_, std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(next.has_value()) << "no message after the oversized one (" << offered << " sent)";
  EXPECT_EQ(next->payload.size(), normal.size()) << "the oversized message was delivered";
  // The sender came back on a new connection: the ROUTER knows it under a new routing id.
  EXPECT_NE(next->peer, first->peer);
  wire::Trajectory decoded;
  EXPECT_TRUE(wire::Decode(next->payload.data(), next->payload.size(), wire::Limits{},
                           wire::Expect{}, &decoded));
  // Whatever else is still in flight is a normal message, never the oversized one.
  while (std::optional<Routed> more = RecvRouted(router_, std::chrono::milliseconds(100))) {
    EXPECT_EQ(more->payload.size(), normal.size());
  }
}

wire::Ready ReadyOf(const std::string& actor) { return {"transport-test", "rocket", actor, 7, 64}; }

// Credit flow on real sockets: each DEALER's ready reaches the ROUTER under its own routing
// id, and the grant sent to that id reaches that DEALER only.
TEST_P(Transport, GrantGoesBackToTheDealerThatAsked) {
  const std::string endpoint = BindRouter(ZmqConfig{});
  std::vector<zmq::socket_t> dealers;
  for (int i = 0; i < 2; ++i) dealers.push_back(MakeTrajectoryDealer(ctx_, endpoint, ZmqConfig{}));
  std::vector<char> bytes;
  std::map<std::string, std::string> peer_of;  // actor -> routing id
  for (int i = 0; i < 2; ++i) {
    wire::Encode(ReadyOf("actor-" + std::to_string(i)), &bytes);
    SendBytes(dealers[i], bytes);
    std::optional<Routed> got = RecvRouted(router_, kDeadline);
    ASSERT_TRUE(got.has_value()) << "ready " << i << " never arrived over " << endpoint;
    wire::ActorMessage m;
    const wire::DecodeResult r =
        wire::Decode(got->payload.data(), got->payload.size(), wire::Limits{}, wire::Expect{}, &m);
    ASSERT_TRUE(r) << r.message;
    ASSERT_EQ(m.type, wire::ActorMessage::Type::kReady);
    peer_of[m.ready.actor] = got->peer;
  }
  ASSERT_EQ(peer_of.size(), 2u);
  EXPECT_NE(peer_of["actor-0"], peer_of["actor-1"]);

  // Actor 1 is granted version 41, actor 0 version 40, in that order.
  for (int i : {1, 0}) {
    wire::Encode(wire::Grant{"transport-test", "rocket", 40u + i}, &bytes);
    SendTo(router_, peer_of["actor-" + std::to_string(i)], bytes);
  }
  for (int i = 0; i < 2; ++i) {
    std::optional<zmq::message_t> got = RecvWithin(dealers[i], kDeadline);
    ASSERT_TRUE(got.has_value()) << "actor " << i << " got no grant";
    EXPECT_FALSE(got->more()) << "a DEALER sees the payload alone";
    wire::Grant grant;
    const wire::DecodeResult r =
        wire::Decode(got->data(), got->size(), wire::Limits{}, wire::Expect{}, &grant);
    ASSERT_TRUE(r) << r.message;
    EXPECT_EQ(grant.run, "transport-test");
    EXPECT_EQ(grant.policy_version, 40u + i) << "actor " << i << " got the other's grant";
    EXPECT_FALSE(RecvWithin(dealers[i], std::chrono::milliseconds(50)).has_value());
  }
}

// ROUTER_MANDATORY: a grant for a connection that is gone fails loudly (the learner then hands
// the credit to someone else) instead of vanishing.
TEST_P(Transport, GrantToAGoneDealerFailsWithHostUnreachable) {
  const std::string endpoint = BindRouter(ZmqConfig{});
  ZmqConfig no_linger;
  no_linger.linger_ms = 0;
  zmq::socket_t dealer = MakeTrajectoryDealer(ctx_, endpoint, no_linger);
  std::vector<char> bytes;
  wire::Encode(ReadyOf("actor-0"), &bytes);
  SendBytes(dealer, bytes);
  std::optional<Routed> ready = RecvRouted(router_, kDeadline);
  ASSERT_TRUE(ready.has_value());
  wire::Encode(wire::Grant{"transport-test", "rocket", 3}, &bytes);
  EXPECT_NO_THROW(SendTo(router_, ready->peer, bytes));
  try {
    SendTo(router_, "no such peer", bytes);
    ADD_FAILURE() << "a grant to an unknown routing id was accepted";
  } catch (const zmq::error_t& e) {
    EXPECT_EQ(e.num(), EHOSTUNREACH);
  }
  dealer.close();
  // The ROUTER learns of the disconnect asynchronously.
  EXPECT_TRUE(testing::PollUntil(10, [&] {
    try {
      const auto sent = router_.send(zmq::buffer(ready->peer),
                                     zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      if (sent) router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
      return false;
    } catch (const zmq::error_t& e) {
      return e.num() == EHOSTUNREACH;
    }
  })) << "grants to a closed DEALER were still accepted";
}

// The actor takes no inbound message over a few kilobytes (a grant is about 80 bytes): an
// oversized one is never delivered, and the DEALER drops the connection that carried it.
// libzmq does not re-dial after this protocol error on the connecting side, so the actor's
// channel stays down: only a peer that breaks the protocol can get there.
TEST_P(Transport, DealerDropsTheConnectionOfAnOversizedGrant) {
  const std::string endpoint = BindRouter(ZmqConfig{});
  zmq::socket_t dealer = MakeTrajectoryDealer(ctx_, endpoint, ZmqConfig{});
  testing::EventLog events(ctx_, dealer);
  std::vector<char> ready, grant, big_grant;
  wire::Encode(ReadyOf("actor-0"), &ready);
  wire::Encode(wire::Grant{"transport-test", "rocket", 5}, &grant);
  wire::Grant big{"transport-test", "rocket", 6};
  big.run.assign(8000, 'r');  // 8 kB: over what the DEALER accepts
  wire::Encode(big, &big_grant);
  SendBytes(dealer, ready);
  // The routed ready proves the handshake is done. Its monitor event is not waited for: the
  // monitor is attached after the DEALER connects, and under load the handshake can finish
  // first, leaving no event to see.
  std::optional<Routed> asked = RecvRouted(router_, kDeadline);
  ASSERT_TRUE(asked.has_value());

  SendTo(router_, asked->peer, grant);
  SendTo(router_, asked->peer, big_grant);
  std::optional<zmq::message_t> got = RecvWithin(dealer, kDeadline);
  ASSERT_TRUE(got.has_value()) << "the normal grant before the oversized one was lost";
  wire::Grant decoded;
  ASSERT_TRUE(wire::Decode(got->data(), got->size(), wire::Limits{}, wire::Expect{}, &decoded));
  EXPECT_EQ(decoded.policy_version, 5u);
  EXPECT_TRUE(testing::PollUntil(10, [&] { return events.Saw(ZMQ_EVENT_DISCONNECTED); }))
      << "the connection that carried an oversized grant was kept";
  EXPECT_FALSE(RecvWithin(dealer, std::chrono::milliseconds(200)).has_value())
      << "the oversized grant was delivered";
}

TEST_P(Transport, ConflatingSubscriberGetsOnlyTheNewestWeights) {
  // Room for the whole burst: a PUB drops what exceeds its high-water mark.
  ZmqConfig pub_config;
  pub_config.send_hwm = 1000;
  const std::string endpoint = BindPub(pub_config);
  zmq::socket_t sub = MakeWeightsSub(ctx_, endpoint, ZmqConfig{});
  // A plain subscriber that keeps every message: it tells when the burst is out.
  zmq::socket_t witness(ctx_, zmq::socket_type::sub);
  witness.set(zmq::sockopt::subscribe, "");
  witness.set(zmq::sockopt::rcvhwm, 1000);
  witness.connect(endpoint);

  // Version 0 probes until both subscribers are connected (PUB drops messages
  // for peers that have not joined yet).
  std::vector<char> bytes;
  wire::Encode(SmallWeights(0), &bytes);
  bool sub_joined = false, witness_joined = false;
  const auto deadline = Clock::now() + kDeadline;
  while (!(sub_joined && witness_joined) && Clock::now() < deadline) {
    pub_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    sub_joined = sub_joined || RecvWithin(sub, std::chrono::milliseconds(10)).has_value();
    witness_joined =
        witness_joined || RecvWithin(witness, std::chrono::milliseconds(10)).has_value();
  }
  ASSERT_TRUE(sub_joined && witness_joined) << "subscribers never connected to " << endpoint;

  constexpr uint64_t kBurst = 20;
  for (uint64_t v = 1; v <= kBurst; ++v) {
    wire::Encode(SmallWeights(v), &bytes);
    ASSERT_TRUE(pub_.send(zmq::buffer(bytes), zmq::send_flags::dontwait));
  }
  // The witness sees the whole burst (and any probes still in flight) before the
  // conflating subscriber is read.
  for (uint64_t last = 0; last != kBurst;) {
    std::optional<zmq::message_t> msg = RecvWithin(witness, kDeadline);
    ASSERT_TRUE(msg.has_value()) << "witness stopped at version " << last;
    std::optional<wire::Weights> w = DecodeWeights(*msg);
    ASSERT_TRUE(w.has_value());
    last = w->policy_version;
  }

  // The newest version arrives; anything before it is strictly older and rare.
  std::vector<uint64_t> versions;
  while (versions.empty() || versions.back() != kBurst) {
    std::optional<zmq::message_t> msg = RecvWithin(sub, kDeadline);
    ASSERT_TRUE(msg.has_value()) << "conflating subscriber never got version " << kBurst;
    std::optional<wire::Weights> w = DecodeWeights(*msg);
    ASSERT_TRUE(w.has_value());
    if (!versions.empty()) {
      ASSERT_GT(w->policy_version, versions.back());
    }
    versions.push_back(w->policy_version);
  }
  EXPECT_LT(versions.size(), kBurst / 2)
      << "the subscriber queued old weights instead of conflating";
  EXPECT_FALSE(RecvWithin(sub, std::chrono::milliseconds(100)).has_value());
}

INSTANTIATE_TEST_SUITE_P(Sockets, Transport, ::testing::Values("ipc", "tcp"),
                         [](const auto& info) { return info.param; });

TEST(Endpoint, FormatsHostnamesAddressesAndPassesTransportsThrough) {
  EXPECT_EQ(Endpoint("learner", kTrajectoryPort), "tcp://learner:5555");
  EXPECT_EQ(Endpoint("hoverslam-learner.default.svc", kWeightsPort),
            "tcp://hoverslam-learner.default.svc:5556");
  EXPECT_EQ(Endpoint("10.1.2.3", 5555), "tcp://10.1.2.3:5555");
  EXPECT_EQ(Endpoint("::1", 5555), "tcp://[::1]:5555");
  EXPECT_EQ(Endpoint("fd00:10:244::7", 5556), "tcp://[fd00:10:244::7]:5556");
  EXPECT_EQ(Endpoint("[::1]", 5555), "tcp://[::1]:5555");
  EXPECT_EQ(Endpoint("ipc:///tmp/hoverslam/trajectories.sock", 5555),
            "ipc:///tmp/hoverslam/trajectories.sock");
  EXPECT_EQ(Endpoint("tcp://127.0.0.1:6000", 5555), "tcp://127.0.0.1:6000");
}

TEST(Bind, PortInUseThrowsNamingTheEndpoint) {
  zmq::context_t ctx;
  auto [router, endpoint] =
      BindFreeTcp([&](const std::string& e) { return MakeTrajectoryRouter(ctx, e, ZmqConfig{}); });
  for (const auto& make :
       std::vector<std::function<void()>>{[&] { MakeTrajectoryRouter(ctx, endpoint, ZmqConfig{}); },
                                          [&] { MakeWeightsPub(ctx, endpoint, ZmqConfig{}); }}) {
    try {
      make();
      ADD_FAILURE() << "second bind to " << endpoint << " did not throw";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(endpoint), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hoverslam
