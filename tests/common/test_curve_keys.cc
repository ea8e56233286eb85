// CURVE key files: the Z85 text, permissions like ssh's, the client flags, and
// hoverslam-keygen.
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

}  // namespace
}  // namespace hoverslam
