// ZMTP heartbeats over real sockets, on both channels: a silent peer is dropped, and the
// client re-dials when it speaks again.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/connection_monitor.h"
#include "common/curve.h"
#include "common/zap_authenticator.h"
#include "common/zmq_sockets.h"
#include "tests/common/curve_test_util.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

namespace fs = std::filesystem;
using testing::Child;
using testing::ErrorOf;
using testing::EventLog;
using testing::FreePort;
using testing::PollUntil;
using testing::TempDir;
using testing::WriteFile;

// A TCP forwarder that can go silent: while paused it reads nothing from either
// side but keeps every socket open, like a peer whose process is stopped or a
// network path that drops packets. Thread-safe (Pause/Resume from any thread).
class Forwarder {
 public:
  explicit Forwarder(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("forwarder cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Forwarder() {
    stop_ = true;
    thread_.join();
    for (auto [a, b] : pairs_) {
      close(a);
      close(b);
    }
    close(listen_fd_);
  }
  int port() const { return port_; }
  void Pause() { paused_ = true; }
  void Resume() { paused_ = false; }

 private:
  int Dial() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  void Loop() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      if (!paused_) {
        for (auto [a, b] : pairs_) {
          fds.push_back({a, POLLIN, 0});
          fds.push_back({b, POLLIN, 0});
        }
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int client = accept(listen_fd_, nullptr, nullptr);
        const int upstream = client >= 0 ? Dial() : -1;
        if (upstream >= 0) {
          pairs_.emplace_back(client, upstream);
        } else if (client >= 0) {
          close(client);
        }
        continue;  // the pair list changed under fds
      }
      std::vector<size_t> dead;
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const auto [a, b] = pairs_[(i - 1) / 2];
        const int from = fds[i].fd, to = from == a ? b : a;
        char buf[65536];
        const ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0 || write(to, buf, n) != n) dead.push_back((i - 1) / 2);
      }
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        if (*it >= pairs_.size()) continue;
        close(pairs_[*it].first);
        close(pairs_[*it].second);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(*it));
      }
    }
  }

  int upstream_port_, port_ = 0, listen_fd_ = -1;
  std::atomic<bool> stop_{false}, paused_{false};
  std::vector<std::pair<int, int>> pairs_;  // (client, upstream); the loop's only
  std::thread thread_;
};

// Heartbeats every 0.1 s, a peer silent for 0.5 s dropped, re-dials within 0.2 s.
ZmqConfig FastHeartbeats() {
  ZmqConfig config;
  config.heartbeat_ivl_ms = 100;
  config.heartbeat_timeout_ms = 500;
  config.heartbeat_ttl_ms = 1000;
  config.reconnect_ivl_ms = 50;
  config.reconnect_ivl_max_ms = 200;
  return config;
}

TEST(Liveness, HeartbeatsDropASilentPeerAndTheClientRedialsWhenItSpeaksAgain) {
  const ZmqConfig config = FastHeartbeats();
  zmq::context_t ctx(1);
  const int port = FreePort();
  zmq::socket_t pub = MakeWeightsPub(ctx, Endpoint("127.0.0.1", port), config);
  Forwarder forwarder(port);
  zmq::socket_t sub = MakeWeightsSub(ctx, Endpoint("127.0.0.1", forwarder.port()), config);
  EventLog events(ctx, sub);
  auto receives = [&](double timeout_s) {
    return PollUntil(timeout_s, [&] {
      pub.send(zmq::str_buffer("w"), zmq::send_flags::dontwait);
      zmq::message_t m;
      return static_cast<bool>(sub.recv(m, zmq::recv_flags::dontwait));
    });
  };
  ASSERT_TRUE(receives(10));
  ASSERT_TRUE(events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  events.seen.clear();

  forwarder.Pause();
  const double t0 = testing::Seconds();
  ASSERT_TRUE(PollUntil(5, [&] { return events.Saw(ZMQ_EVENT_DISCONNECTED); }))
      << "a silent peer was never dropped";
  const double dropped_after = testing::Seconds() - t0;
  EXPECT_LT(dropped_after, 0.5 + 1.0) << "heartbeat_timeout 0.5 s plus margin";
  EXPECT_GT(dropped_after, 0.3) << "dropped before the heartbeat timeout";
  events.seen.clear();

  forwarder.Resume();
  EXPECT_TRUE(PollUntil(10, [&] { return events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED); }))
      << "never re-dialled";
  EXPECT_TRUE(receives(10));
}

// The trajectory channel: a DEALER behind a silent path drops the learner like a SUB does,
// and its re-dial is a new connection, which the ROUTER knows under a new routing id. A
// grant held on the old connection is therefore void: why the actor counts its connections.
TEST(Liveness, DealerDropsASilentRouterAndComesBackAsANewPeer) {
  const ZmqConfig config = FastHeartbeats();
  zmq::context_t ctx(1);
  const int port = FreePort();
  zmq::socket_t router = MakeTrajectoryRouter(ctx, Endpoint("127.0.0.1", port), config);
  Forwarder forwarder(port);
  zmq::socket_t dealer = MakeTrajectoryDealer(ctx, Endpoint("127.0.0.1", forwarder.port()), config);
  EventLog events(ctx, dealer);
  // The routing id of the first message from a peer other than `other` within `timeout_s`.
  auto peer_other_than = [&](const std::string& other, double timeout_s) {
    std::string peer;
    PollUntil(timeout_s, [&] {
      dealer.send(zmq::str_buffer("ready"), zmq::send_flags::dontwait);  // immediate: if up
      zmq::message_t id, payload;
      while (router.recv(id, zmq::recv_flags::dontwait)) {
        (void)router.recv(payload, zmq::recv_flags::none);  // [routing id, payload]
        if (id.to_string() != other) peer = id.to_string();
      }
      return !peer.empty();
    });
    return peer;
  };
  const std::string first = peer_other_than("", 10);
  ASSERT_FALSE(first.empty()) << "nothing arrived through the forwarder";
  ASSERT_TRUE(events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  events.seen.clear();

  forwarder.Pause();
  ASSERT_TRUE(PollUntil(5, [&] { return events.Saw(ZMQ_EVENT_DISCONNECTED); }))
      << "a silent learner was never dropped";
  events.seen.clear();
  forwarder.Resume();
  EXPECT_TRUE(PollUntil(10, [&] { return events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED); }))
      << "never re-dialled";
  EXPECT_FALSE(peer_other_than(first, 10).empty()) << "the re-dialled DEALER kept its routing id";
}

TEST(Liveness, ConfigRefusesAHeartbeatLibzmqCannotHonour) {
  ZmqConfig c;
  EXPECT_NO_THROW(c.Validate());
  c.heartbeat_ttl_ms = 7'000'000;  // libzmq's limit is 6553599 ms
  EXPECT_NE(ErrorOf([&] { c.Validate(); }).find("--zmq-heartbeat-ttl"), std::string::npos);
  c = ZmqConfig{};
  c.heartbeat_ivl_ms = -1;
  EXPECT_NE(ErrorOf([&] { c.Validate(); }).find("--zmq-heartbeat-ivl"), std::string::npos);
  c = ZmqConfig{};
  c.refused_retry_max_ms = c.refused_retry_ms - 1;
  EXPECT_NE(ErrorOf([&] { c.Validate(); }).find("--zmq-refused-retry-max"), std::string::npos);
}

}  // namespace
}  // namespace hoverslam
