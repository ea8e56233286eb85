// CURVE and liveness over real ZeroMQ sockets on tcp://127.0.0.1: key files, the
// ZAP authenticator (who is admitted, who is refused and counted, key rotation),
// the client's recovery from a refusal, and heartbeats dropping a silent peer.
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
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

namespace fs = std::filesystem;
using testing::Child;
using testing::FreePort;
using testing::PollUntil;
using testing::TempDir;
using testing::WriteFile;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// ---- key files ------------------------------------------------------------

TEST(CurveKeys, TextIsOneZ85KeyAndTrailingWhitespace) {
  const CurveKeyPair keys = NewCurveKeyPair();
  ASSERT_EQ(keys.public_key.size(), kCurveKeyChars);
  std::string why;
  for (const std::string& text : {keys.public_key, keys.public_key + "\n",
                                  keys.public_key + " \t\r\n\n", keys.public_key + "\r\n"}) {
    EXPECT_EQ(ParseKeyText(text, &why), keys.public_key) << why;
  }
  const std::string bad_char = keys.public_key.substr(0, 39) + "~";  // not in Z85's alphabet
  for (const std::string& text :
       {std::string(), std::string("\n"), keys.public_key.substr(0, 39),
        keys.public_key.substr(0, 39) + "\n", keys.public_key + "x", keys.public_key + "\nx",
        " " + keys.public_key, keys.public_key + keys.public_key, bad_char,
        std::string(40, '#'),  // Z85 characters whose 5-groups overflow 32 bits
        keys.public_key.substr(0, 20) + std::string(1, '\0') + keys.public_key.substr(21)}) {
    why.clear();
    EXPECT_FALSE(ParseKeyText(text, &why).has_value()) << "accepted [" << text << "]";
    EXPECT_FALSE(why.empty());
  }
}

TEST(CurveKeys, PublicKeyFileWithTrailingNewlineIsAccepted) {
  TempDir dir;
  const CurveKeyPair keys = NewCurveKeyPair();
  WriteFile(dir / "a.pub", keys.public_key + "\n", 0644);
  EXPECT_EQ(ReadPublicKeyFile(dir / "a.pub"), keys.public_key);
  WriteFile(dir / "a.key", keys.secret_key + "\n", 0600);
  EXPECT_EQ(ReadSecretKeyFile(dir / "a.key"), keys.secret_key);
  EXPECT_EQ(CurvePublicKey(keys.secret_key), keys.public_key);
}

TEST(CurveKeys, SecretKeyThatGroupOrOthersCanReadIsRefusedLikeSsh) {
  TempDir dir;
  const CurveKeyPair keys = NewCurveKeyPair();
  // A root-owned key may be group-readable (how the kubelet mounts a Secret), as
  // PostgreSQL allows; the test's files are root-owned when it runs as root.
  const bool root = geteuid() == 0;
  std::vector<mode_t> refused{0644, 0604, 0660, 0606};
  if (!root) refused.push_back(0640);
  for (mode_t mode : refused) {
    WriteFile(dir / "loose.key", keys.secret_key + "\n", mode);
    const std::string error = ErrorOf([&] { ReadSecretKeyFile(dir / "loose.key"); });
    EXPECT_NE(error.find(dir / "loose.key"), std::string::npos) << std::oct << mode << error;
    EXPECT_NE(error.find("group or others"), std::string::npos) << error;
    EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  }
  for (mode_t mode : {0600, 0400}) {
    WriteFile(dir / "tight.key", keys.secret_key + "\n", mode);
    EXPECT_EQ(ReadSecretKeyFile(dir / "tight.key"), keys.secret_key) << std::oct << mode;
  }
  if (root) {
    WriteFile(dir / "k8s.key", keys.secret_key + "\n", 0440);
    EXPECT_EQ(ReadSecretKeyFile(dir / "k8s.key"), keys.secret_key);
  }
}

TEST(CurveKeys, MalformedOrMissingKeyFileIsRefusedNamingTheFile) {
  TempDir dir;
  WriteFile(dir / "bad.pub", "not a key\n", 0644);
  std::string error = ErrorOf([&] { ReadPublicKeyFile(dir / "bad.pub"); });
  EXPECT_NE(error.find(dir / "bad.pub"), std::string::npos) << error;
  WriteFile(dir / "bad.key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 0600);
  error = ErrorOf([&] { ReadSecretKeyFile(dir / "bad.key"); });
  EXPECT_NE(error.find(dir / "bad.key"), std::string::npos) << error;
  error = ErrorOf([&] { ReadPublicKeyFile(dir / "missing.pub"); });
  EXPECT_NE(error.find(dir / "missing.pub"), std::string::npos) << error;
}

TEST(CurveKeys, ClientFlagsAreBothOrNeither) {
  CurveClientFiles files;
  EXPECT_NO_THROW(files.Validate());
  EXPECT_FALSE(files.enabled());
  files.server_key_file = "/x/learner.pub";
  EXPECT_NE(ErrorOf([&] { files.Validate(); }).find("--curve-secret-key-file"), std::string::npos);
  files = {};
  files.secret_key_file = "/x/actor.key";
  EXPECT_NE(ErrorOf([&] { files.Validate(); }).find("--curve-server-key-file"), std::string::npos);
  CurveServerFiles server;
  EXPECT_NO_THROW(server.Validate());
  server.secret_key_file = "/x/learner.key";
  EXPECT_NE(ErrorOf([&] { server.Validate(); }).find("--curve-client-keys"), std::string::npos);
}

TEST(CurveKeys, KeygenWritesTightSecretAndRefusesToOverwrite) {
  TempDir dir;
  const std::string name = dir / "actor-1";
  Child keygen({HOVERSLAM_KEYGEN_BIN, name}, dir / "keygen.log");
  ASSERT_EQ(keygen.Wait(10), std::optional<int>(0));
  struct stat st {};
  ASSERT_EQ(stat((name + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((name + ".pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  const std::string secret = ReadSecretKeyFile(name + ".key");
  EXPECT_EQ(CurvePublicKey(secret), ReadPublicKeyFile(name + ".pub"));

  Child again({HOVERSLAM_KEYGEN_BIN, name}, dir / "again.log");
  EXPECT_NE(again.Wait(10).value_or(0), 0);
  EXPECT_EQ(ReadSecretKeyFile(name + ".key"), secret) << "overwritten without --force";
  Child forced({HOVERSLAM_KEYGEN_BIN, name, "--force"}, dir / "forced.log");
  ASSERT_EQ(forced.Wait(10), std::optional<int>(0));
  EXPECT_NE(ReadSecretKeyFile(name + ".key"), secret);
}

// ---- CURVE over tcp -------------------------------------------------------

// A learner-like server side: keys on disk, a ZAP authenticator, a PULL and a PUB
// with CURVE, and the refusals it counted by reason. Not thread-safe (but counts are).
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
    pull_ = MakeTrajectoryPull(ctx_, Endpoint("127.0.0.1", trajectory_port_), ZmqConfig{},
                               zap_->Server("trajectories"));
    pub_ = MakeWeightsPub(ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{},
                          zap_->Server("weights"));
  }

  ~CurveServerFixture() override {
    // Sockets before the authenticator: it reads their monitors.
    pull_.close();
    pub_.close();
    zap_.reset();
  }

  CurveClient ClientWith(const CurveKeyPair& keys) const {
    return CurveClient{server_keys_.public_key, keys.secret_key, keys.public_key};
  }

  int Failures(AuthFailure f) const { return failures_[static_cast<int>(f)].load(); }

  // Whether a PUSH with these settings gets a message through within `timeout_s`.
  bool PushArrives(zmq::socket_t& push, double timeout_s) {
    const std::string text = "hello";
    push.send(zmq::buffer(text), zmq::send_flags::dontwait);
    return PollUntil(timeout_s, [&] {
      zmq::message_t m;
      if (pull_.recv(m, zmq::recv_flags::dontwait)) return m.to_string() == text;
      push.send(zmq::buffer(text), zmq::send_flags::dontwait);  // immediate: only once connected
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
  zmq::socket_t pull_, pub_;
};

// Collects a socket's monitor events; polls without blocking. Not thread-safe.
struct EventLog {
  EventLog(zmq::context_t& ctx, zmq::socket_t& socket) : monitor(ctx, socket) {}
  bool Saw(int event) {
    while (std::optional<SocketEvent> e = monitor.Next()) seen.push_back(e->event);
    return std::find(seen.begin(), seen.end(), event) != seen.end();
  }
  SocketMonitor monitor;
  std::vector<int> seen;
};

TEST_F(CurveServerFixture, AuthorizedClientUsesBothChannels) {
  Start();
  zmq::socket_t push = MakeTrajectoryPush(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                          ZmqConfig{}, ClientWith(client_keys_));
  zmq::socket_t sub = MakeWeightsSub(client_ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{},
                                     ClientWith(client_keys_));
  EXPECT_TRUE(PushArrives(push, 10));
  EXPECT_TRUE(SubReceives(sub, 10));
  EXPECT_EQ(zap_->authorized_keys(), 1u);
  for (int f = 0; f < static_cast<int>(AuthFailure::kCount); ++f) EXPECT_EQ(failures_[f], 0);
}

TEST_F(CurveServerFixture, PlaintextClientIsRefusedAndCounted) {
  Start();
  zmq::socket_t push =
      MakeTrajectoryPush(client_ctx_, Endpoint("127.0.0.1", trajectory_port_), ZmqConfig{});
  zmq::socket_t sub =
      MakeWeightsSub(client_ctx_, Endpoint("127.0.0.1", weights_port_), ZmqConfig{});
  // A plaintext client is refused at the greeting; when it notices the mismatch
  // first, the server sees it give up mid-handshake instead. Either is counted.
  EXPECT_TRUE(PollUntil(10, [&] {
    return Failures(AuthFailure::kNotCurve) + Failures(AuthFailure::kHandshakeAborted) >= 2;
  }));
  EXPECT_EQ(Failures(AuthFailure::kKeyNotAuthorized), 0);
  EXPECT_FALSE(PushArrives(push, 0.5));
  EXPECT_FALSE(SubReceives(sub, 0.5));
}

TEST_F(CurveServerFixture, UnknownClientKeyIsRefusedAndCounted) {
  Start();
  const CurveKeyPair stranger = NewCurveKeyPair();
  zmq::socket_t push = MakeTrajectoryPush(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                          ZmqConfig{}, ClientWith(stranger));
  EventLog events(client_ctx_, push);
  EXPECT_TRUE(PollUntil(10, [&] { return events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH); }));
  EXPECT_TRUE(PollUntil(10, [&] { return Failures(AuthFailure::kKeyNotAuthorized) >= 1; }));
  EXPECT_FALSE(PushArrives(push, 0.5));
  EXPECT_FALSE(events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
}

TEST_F(CurveServerFixture, WrongServerKeyCannotConnect) {
  Start();
  CurveClient wrong = ClientWith(client_keys_);
  wrong.server_public_key = NewCurveKeyPair().public_key;
  zmq::socket_t push =
      MakeTrajectoryPush(client_ctx_, Endpoint("127.0.0.1", trajectory_port_), ZmqConfig{}, wrong);
  EventLog events(client_ctx_, push);
  EXPECT_TRUE(PollUntil(10, [&] {
    return events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) ||
           events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) ||
           events.Saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  }));
  EXPECT_TRUE(PollUntil(10, [&] { return Failures(AuthFailure::kBadHandshake) >= 1; }));
  EXPECT_FALSE(PushArrives(push, 0.5));
  EXPECT_FALSE(events.Saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
}

// libzmq admits every CURVE client when no ZAP handler answers, unless the server
// socket enforces its ZAP domain: a server without its authenticator fails closed.
TEST(CurveTransport, ServerWithoutZapHandlerAdmitsNobody) {
  const CurveKeyPair server = NewCurveKeyPair(), client = NewCurveKeyPair();
  zmq::context_t ctx(1), client_ctx(1);
  const int port = FreePort();
  zmq::socket_t pull = MakeTrajectoryPull(ctx, Endpoint("127.0.0.1", port), ZmqConfig{},
                                          CurveServer{server.secret_key, kZapDomain, ""});
  zmq::socket_t push =
      MakeTrajectoryPush(client_ctx, Endpoint("127.0.0.1", port), ZmqConfig{},
                         CurveClient{server.public_key, client.secret_key, client.public_key});
  push.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
  EXPECT_FALSE(PollUntil(1.5, [&] {
    zmq::message_t m;
    push.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
    return static_cast<bool>(pull.recv(m, zmq::recv_flags::dontwait));
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
        return MakeTrajectoryPush(client_ctx_, e, fast, ClientWith(late));
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
    return PushArrives(client.socket(), 0.01);
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
  zmq::socket_t again = MakeTrajectoryPush(client_ctx_, endpoint, ZmqConfig{}, ClientWith(late));
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
      MakeTrajectoryPush(client_ctx_, endpoint, ZmqConfig{}, ClientWith(client_keys_));
  EXPECT_TRUE(PushArrives(old_key, 10));

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
        return MakeTrajectoryPush(client_ctx_, e, fast, ClientWith(rotated));
      },
      fast);
  EXPECT_TRUE(PollUntil(10, [&] {
    new_key.Poll();
    return PushArrives(new_key.socket(), 0.01);
  })) << "rotated key never admitted";
  EXPECT_TRUE(PollUntil(10, [&] { return zap_->authorized_keys() == 1u; }));
  const int refused_before = Failures(AuthFailure::kKeyNotAuthorized);
  zmq::socket_t stale =
      MakeTrajectoryPush(client_ctx_, endpoint, ZmqConfig{}, ClientWith(client_keys_));
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
  zmq::socket_t push = MakeTrajectoryPush(client_ctx_, Endpoint("127.0.0.1", trajectory_port_),
                                          ZmqConfig{}, ClientWith(late));
  EXPECT_TRUE(PushArrives(push, 10));
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

TEST(Liveness, HeartbeatsDropASilentPeerAndTheClientRedialsWhenItSpeaksAgain) {
  ZmqConfig config;
  config.heartbeat_ivl_ms = 100;
  config.heartbeat_timeout_ms = 500;
  config.heartbeat_ttl_ms = 1000;
  config.reconnect_ivl_ms = 50;
  config.reconnect_ivl_max_ms = 200;
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
