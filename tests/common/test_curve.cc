// CURVE over real ZeroMQ sockets on tcp://127.0.0.1: the ZAP authenticator (who is
// admitted, who is refused and counted, key rotation) and the client's recovery from a
// refusal.
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

class CurveServerFixture : public ::testing::Test {
 protected:
  CurveServerFixture() {
    server_keys_ = NewCurveKeyPair();
    client_keys_ = NewCurveKeyPair();
    fs::create_directory(clients_dir());
    WriteFile(dir_ / "server.key", server_keys_.secret_key + "\n", 0600);
    WriteFile(clients_dir() + "/actor-0.pub", client_keys_.public_key + "\n", 0644);
  }

  std::string clients_dir() const { return dir_ / "clients"; }

  void Start(double reload_s = 1.0) {
    CurveServerFiles files{dir_ / "server.key", clients_dir()};
    ZapAuthenticator::Hooks hooks;
    hooks.on_failure = [this](AuthFailure f) { ++failures_[static_cast<int>(f)]; };
    zap_ = std::make_unique<ZapAuthenticator>(ctx_, files, hooks, reload_s);
    trajectory_port_ = FreePort();
    weights_port_ = FreePort();
    router_ = MakeTrajectoryRouter(ctx_, Endpoint("127.0.0.1", trajectory_port_), ZmqConfig{},
                                   zap_->Server("trajectories"));
    pub_ = MakeWeightsPub(ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{},
                          zap_->Server("weights"));
  }

  ~CurveServerFixture() override {
    // Sockets before the authenticator: it reads their monitors.
    router_.close();
    pub_.close();
    zap_.reset();
  }

  CurveClient ClientWith(const CurveKeyPair& keys) const {
    return CurveClient{server_keys_.public_key, keys.secret_key, keys.public_key};
  }

  int Failures(AuthFailure f) const { return failures_[static_cast<int>(f)].load(); }

  // Whether a DEALER with these settings gets a message through within `timeout_s`.
  bool DealerArrives(zmq::socket_t& dealer, double timeout_s) {
    const std::string text = "hello";
    dealer.send(zmq::buffer(text), zmq::send_flags::dontwait);
    return PollUntil(timeout_s, [&] {
      zmq::message_t id, m;
      if (router_.recv(id, zmq::recv_flags::dontwait)) {
        (void)router_.recv(m, zmq::recv_flags::none);  // [routing id, payload] arrive together
        return m.to_string() == text;
      }
      dealer.send(zmq::buffer(text), zmq::send_flags::dontwait);  // immediate: once connected
      return false;
    });
  }

  // Whether a SUB receives what the PUB publishes within `timeout_s`.
  bool SubReceives(zmq::socket_t& sub, double timeout_s) {
    return PollUntil(timeout_s, [&] {
      pub_.send(zmq::str_buffer("weights"), zmq::send_flags::dontwait);
      zmq::message_t m;
      return static_cast<bool>(sub.recv(m, zmq::recv_flags::dontwait));
    });
  }

  TempDir dir_{"hoverslam-curve"};
  CurveKeyPair server_keys_, client_keys_;
  zmq::context_t ctx_{1};  // the server's: the ZAP handler serves this context only
  zmq::context_t client_ctx_{1};
  std::unique_ptr<ZapAuthenticator> zap_;
  std::array<std::atomic<int>, static_cast<int>(AuthFailure::kCount)> failures_{};
  int trajectory_port_ = 0, weights_port_ = 0;
  zmq::socket_t router_, pub_;
};

TEST_F(CurveServerFixture, AuthorizedClientUsesBothChannels) {
  Start();
  zmq::socket_t dealer = MakeTrajectoryDealer(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                              ZmqConfig{}, ClientWith(client_keys_));
  zmq::socket_t sub = MakeWeightsSub(client_ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{},
                                     ClientWith(client_keys_));
  EXPECT_TRUE(DealerArrives(dealer, 10));
  EXPECT_TRUE(SubReceives(sub, 10));
  EXPECT_EQ(zap_->authorized_keys(), 1u);
  for (int f = 0; f < static_cast<int>(AuthFailure::kCount); ++f) EXPECT_EQ(failures_[f], 0);
}

TEST_F(CurveServerFixture, PlaintextClientIsRefusedAndCounted) {
  Start();
  zmq::socket_t dealer =
      MakeTrajectoryDealer(client_ctx_, Endpoint("127.0.0.1", trajectory_port_), ZmqConfig{});
  zmq::socket_t sub =
      MakeWeightsSub(client_ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{});
  // A plaintext client is refused at the greeting; when it notices the mismatch
  // first, the server sees it give up mid-handshake instead. Either is counted.
  EXPECT_TRUE(PollUntil(10, [&] {
    return Failures(AuthFailure::kNotCurve) + Failures(AuthFailure::kHandshakeAborted) >= 2;
  }));
  EXPECT_EQ(Failures(AuthFailure::kKeyNotAuthorized), 0);
  EXPECT_FALSE(DealerArrives(dealer, 0.5));
  EXPECT_FALSE(SubReceives(sub, 0.5));
}

TEST_F(CurveServerFixture, UnknownClientKeyIsRefusedAndCounted) {
  Start();
  const CurveKeyPair stranger = NewCurveKeyPair();
  zmq::socket_t dealer = MakeTrajectoryDealer(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                              ZmqConfig{}, ClientWith(stranger));
  EventLog events(client_ctx_, dealer);
  EXPECT_TRUE(PollUntil(10, [&] { return events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH); }));
  EXPECT_TRUE(PollUntil(10, [&] { return Failures(AuthFailure::kKeyNotAuthorized) >= 1; }));
  EXPECT_FALSE(DealerArrives(dealer, 0.5));
  EXPECT_FALSE(events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
}

TEST_F(CurveServerFixture, WrongServerKeyCannotConnect) {
  Start();
  CurveClient wrong = ClientWith(client_keys_);
  wrong.server_public_key = NewCurveKeyPair().public_key;
  zmq::socket_t dealer = MakeTrajectoryDealer(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                              ZmqConfig{}, wrong);
  EventLog events(client_ctx_, dealer);
  EXPECT_TRUE(PollUntil(10, [&] {
    return events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) ||
           events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) ||
           events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  }));
  EXPECT_TRUE(PollUntil(10, [&] { return Failures(AuthFailure::kBadHandshake) >= 1; }));
  EXPECT_FALSE(DealerArrives(dealer, 0.5));
  EXPECT_FALSE(events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
}

// libzmq admits every CURVE client when no ZAP handler answers, unless the server
// socket enforces its ZAP domain: a server without its authenticator fails closed.
TEST(CurveTransport, ServerWithoutZapHandlerAdmitsNobody) {
  const CurveKeyPair server = NewCurveKeyPair(), client = NewCurveKeyPair();
  zmq::context_t ctx(1), client_ctx(1);
  const int port = FreePort();
  zmq::socket_t router = MakeTrajectoryRouter(ctx, Endpoint("127.0.0.1", port), ZmqConfig{},
                                              CurveServer{server.secret_key, kZapDomain, ""});
  zmq::socket_t dealer =
      MakeTrajectoryDealer(client_ctx, Endpoint("127.0.0.1", port), ZmqConfig{},
                           CurveClient{server.public_key, client.secret_key, client.public_key});
  dealer.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
  EXPECT_FALSE(PollUntil(1.5, [&] {
    zmq::message_t m;
    dealer.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
    return static_cast<bool>(router.recv(m, zmq::recv_flags::dontwait));
  }));
}

// Copies `from` to `to` through a temporary name and a rename, as a deployment would.
void InstallKey(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".tmp", fs::copy_options::overwrite_existing);
  fs::rename(to + ".tmp", to);
}

TEST_F(CurveServerFixture, RefusedClientConnectsOnceItsKeyIsAddedAndRemovalStopsNewOnes) {
  Start(/*reload_s=*/0.2);
  const CurveKeyPair late = NewCurveKeyPair();
  WriteFile(dir_ / "late.pub", late.public_key + "\n", 0644);
  ZmqConfig fast;
  fast.refused_retry_ms = 100;
  fast.refused_retry_max_ms = 400;
  std::vector<HandshakeFailure> client_failures;
  bool connected = false;
  ClientConnection::Hooks hooks;
  hooks.on_failure = [&](HandshakeFailure f) { client_failures.push_back(f); };
  hooks.on_connected = [&](bool c) { connected = c; };
  const std::string endpoint = Endpoint("127.0.0.1", trajectory_port_);
  ClientConnection client(
      client_ctx_, "trajectories", endpoint,
      [&](const std::string& e) {
        return MakeTrajectoryDealer(client_ctx_, e, fast, ClientWith(late));
      },
      fast, hooks);
  ASSERT_TRUE(PollUntil(10, [&] {
    client.Poll();
    return !client_failures.empty();
  }));
  EXPECT_EQ(client_failures.front(), HandshakeFailure::kKeyRefused);
  EXPECT_FALSE(connected);
  // The server counts on its authenticator's thread, maybe after the client noticed.
  EXPECT_TRUE(PollUntil(10, [&] { return Failures(AuthFailure::kKeyNotAuthorized) >= 1; }));

  // Authorized without restarting either side: the client's retry gets in.
  InstallKey(dir_ / "late.pub", clients_dir() + "/late.pub");
  ASSERT_TRUE(PollUntil(10, [&] {
    client.Poll();
    return DealerArrives(client.socket(), 0.01);
  })) << "never admitted after its key was added";
  EXPECT_TRUE(PollUntil(5, [&] {
    client.Poll();
    return connected;
  }));
  EXPECT_EQ(zap_->authorized_keys(), 2u);

  // Removed: a new connection with that key is refused again.
  fs::remove(clients_dir() + "/late.pub");
  ASSERT_TRUE(PollUntil(10, [&] { return zap_->authorized_keys() == 1u; }));
  const int refused_before = Failures(AuthFailure::kKeyNotAuthorized);
  zmq::socket_t again = MakeTrajectoryDealer(client_ctx_, endpoint, ZmqConfig{}, ClientWith(late));
  EXPECT_TRUE(
      PollUntil(10, [&] { return Failures(AuthFailure::kKeyNotAuthorized) > refused_before; }));
}

// Kubernetes updates a Secret volume by pointing the `..data` symlink at a new
// directory; the files in DIR are symlinks through it, so only contents change.
TEST_F(CurveServerFixture, KeySwappedInLikeAKubernetesSecretIsPickedUp) {
  fs::remove_all(clients_dir());
  fs::create_directories(dir_ / "secret/..v1");
  fs::create_directories(dir_ / "secret/..v2");
  const CurveKeyPair rotated = NewCurveKeyPair();
  WriteFile(dir_ / "secret/..v1/actor.pub", client_keys_.public_key + "\n", 0644);
  WriteFile(dir_ / "secret/..v2/actor.pub", rotated.public_key + "\n", 0644);
  fs::create_directory_symlink("..v1", dir_ / "secret/..data");
  fs::create_symlink("..data/actor.pub", dir_ / "secret/actor.pub");
  fs::create_symlink(dir_ / "secret", clients_dir());
  Start(/*reload_s=*/0.2);
  const std::string endpoint = Endpoint("127.0.0.1", trajectory_port_);
  zmq::socket_t old_key =
      MakeTrajectoryDealer(client_ctx_, endpoint, ZmqConfig{}, ClientWith(client_keys_));
  EXPECT_TRUE(DealerArrives(old_key, 10));

  // The atomic swap: a new symlink renamed over ..data.
  fs::create_directory_symlink("..v2", dir_ / "secret/..data_tmp");
  fs::rename(dir_ / "secret/..data_tmp", dir_ / "secret/..data");
  // Possibly refused before the re-read: a ClientConnection retries, as actors do.
  ZmqConfig fast;
  fast.refused_retry_ms = 100;
  fast.refused_retry_max_ms = 200;
  ClientConnection new_key(
      client_ctx_, "trajectories", endpoint,
      [&](const std::string& e) {
        return MakeTrajectoryDealer(client_ctx_, e, fast, ClientWith(rotated));
      },
      fast);
  EXPECT_TRUE(PollUntil(10, [&] {
    new_key.Poll();
    return DealerArrives(new_key.socket(), 0.01);
  })) << "rotated key never admitted";
  EXPECT_TRUE(PollUntil(10, [&] { return zap_->authorized_keys() == 1u; }));
  const int refused_before = Failures(AuthFailure::kKeyNotAuthorized);
  zmq::socket_t stale =
      MakeTrajectoryDealer(client_ctx_, endpoint, ZmqConfig{}, ClientWith(client_keys_));
  EXPECT_TRUE(
      PollUntil(10, [&] { return Failures(AuthFailure::kKeyNotAuthorized) > refused_before; }));
}

// A *.pub entry that cannot even be stat'ed (a symlink loop here; EACCES is alike) is
// one bad file: it must not stop the handler, which would then refuse every new client.
TEST_F(CurveServerFixture, UnstatableKeyEntryIsIgnoredAndReloadsGoOn) {
  Start(/*reload_s=*/0.1);
  fs::create_symlink("loop.pub", clients_dir() + "/loop.pub");
  const CurveKeyPair late = NewCurveKeyPair();
  WriteFile(clients_dir() + "/late.pub", late.public_key + "\n", 0644);
  EXPECT_TRUE(PollUntil(5, [&] { return zap_->authorized_keys() == 2u; }))
      << "the key added beside the bad entry was never read";
  zmq::socket_t dealer = MakeTrajectoryDealer(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                              ZmqConfig{}, ClientWith(late));
  EXPECT_TRUE(DealerArrives(dealer, 10));
}

TEST(CurveTransport, AuthenticatorRefusesToStartWithoutItsKeysNamingWhatIsWrong) {
  TempDir dir;
  zmq::context_t ctx(1);
  const CurveKeyPair keys = NewCurveKeyPair();
  auto start = [&](const CurveServerFiles& files) {
    return ErrorOf([&] { ZapAuthenticator zap(ctx, files, {}); });
  };
  WriteFile(dir / "server.key", keys.secret_key + "\n", 0600);
  EXPECT_NE(start({dir / "server.key", dir / "absent"}).find(dir / "absent"), std::string::npos);
  WriteFile(dir / "loose.key", keys.secret_key + "\n", 0644);
  fs::create_directory(dir / "clients");
  EXPECT_NE(start({dir / "loose.key", dir / "clients"}).find("group or others"), std::string::npos);
  EXPECT_EQ(start({dir / "server.key", dir / "clients"}), "");
}

// ---- liveness -------------------------------------------------------------

// A TCP forwarder that can go silent: while paused it reads nothing from either
// side but keeps every socket open, like a peer whose process is stopped or a
// network path that drops packets. Thread-safe (Pause/Resume from any thread).

}  // namespace
}  // namespace hoverslam
