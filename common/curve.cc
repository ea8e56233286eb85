#include "common/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace hoverslam {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;  // a key and some whitespace; more is not a key file

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string ReadKeyFile(const std::string& path, const char* kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + std::string(kind) + " key file " + path + ": " +
                             std::strerror(errno));
  }
  std::string bytes;
  bytes.resize(kMaxKeyFileBytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  std::string why;
  if (bytes.size() > kMaxKeyFileBytes) {
    why = "larger than a key file";
  } else if (std::optional<std::string> key = ParseKeyText(bytes, &why)) {
    return *key;
  }
  throw std::runtime_error(std::string(kind) + " key file " + path + " is not a CURVE key: " + why +
                           " (expected the 40-character Z85 key that hoverslam-keygen writes)");
}

void WriteKey(const std::string& path, const std::string& key, mode_t mode, bool overwrite) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  const std::string line = key + "\n";
  // fchmod: the mode must not depend on the umask, nor on an older file's mode.
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
}

}  // namespace

std::optional<std::string> ParseKeyText(std::string_view text, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<std::string> {
    if (why) *why = reason;
    return std::nullopt;
  };
  size_t end = text.size();
  while (end > 0 && IsSpace(text[end - 1])) --end;
  if (end != kCurveKeyChars) {
    return fail(end == 0 ? "it is empty"
                         : "it holds " + std::to_string(end) + " characters before the " +
                               "trailing whitespace, not " + std::to_string(kCurveKeyChars));
  }
  const std::string key(text.substr(0, end));
  uint8_t decoded[32];
  // zmq_z85_decode refuses characters outside Z85's alphabet and groups that
  // overflow 32 bits; an embedded NUL would shorten the string, so count first.
  if (std::strlen(key.c_str()) != kCurveKeyChars ||
      zmq_z85_decode(decoded, key.c_str()) == nullptr) {
    return fail("it is not Z85 text");
  }
  return key;
}

std::string ReadPublicKeyFile(const std::string& path) { return ReadKeyFile(path, "public"); }

std::string ReadSecretKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("cannot read secret key file " + path + ": " + std::strerror(errno));
  }
  // ssh's rule, with PostgreSQL's exception for a root-owned key that its group may
  // read: the kubelet mounts Secret files so (root, fsGroup, 0440).
  const bool root_owned = st.st_uid == 0;
  if ((st.st_mode & (root_owned ? 037 : 077)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error(
        "secret key file " + path + " is accessible by group or others (mode " + mode +
        "): refusing to use it; chmod 600 " + path +
        (root_owned ? " (a root-owned key may also be readable by its group: 0640)" : ""));
  }
  return ReadKeyFile(path, "secret");
}

std::string CurvePublicKey(const std::string& secret_key) {
  char public_key[kCurveKeyChars + 1] = {};
  if (zmq_curve_public(public_key, secret_key.c_str()) != 0) {
    throw std::runtime_error(std::string("cannot derive a CURVE public key: ") +
                             zmq_strerror(zmq_errno()));
  }
  return public_key;
}

CurveKeyPair NewCurveKeyPair() {
  char public_key[kCurveKeyChars + 1] = {}, secret_key[kCurveKeyChars + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    throw std::runtime_error(std::string("cannot make a CURVE key pair (libzmq without "
                                         "libsodium?): ") +
                             zmq_strerror(zmq_errno()));
  }
  return {public_key, secret_key};
}

void WriteCurveKeyPair(const std::string& name, const CurveKeyPair& keys, bool overwrite) {
  const std::string secret = name + ".key", pub = name + ".pub";
  if (!overwrite) {
    for (const std::string& path : {secret, pub}) {
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0) {
        throw std::runtime_error(path + " exists; refusing to overwrite it (--force replaces it)");
      }
    }
  }
  WriteKey(secret, keys.secret_key, 0600, overwrite);
  WriteKey(pub, keys.public_key, 0644, overwrite);
}

void CurveClientFiles::Validate() const {
  if (!server_key_file.empty() && secret_key_file.empty()) {
    throw std::invalid_argument(
        "--curve-server-key-file needs --curve-secret-key-file (this process's own secret key)");
  }
  if (server_key_file.empty() && !secret_key_file.empty()) {
    throw std::invalid_argument(
        "--curve-secret-key-file needs --curve-server-key-file (the learner's public key)");
  }
}

CurveClient CurveClientFiles::Load() const {
  Validate();
  if (!enabled()) return {};
  CurveClient c;
  c.server_public_key = ReadPublicKeyFile(server_key_file);
  c.secret_key = ReadSecretKeyFile(secret_key_file);
  c.public_key = CurvePublicKey(c.secret_key);
  return c;
}

void CurveServerFiles::Validate() const {
  if (!secret_key_file.empty() && client_keys_dir.empty()) {
    throw std::invalid_argument(
        "--curve-secret-key-file needs --curve-client-keys (the directory of authorized actor "
        "public keys, *.pub); without it any client would be admitted, so the learner refuses "
        "to start");
  }
  if (secret_key_file.empty() && !client_keys_dir.empty()) {
    throw std::invalid_argument(
        "--curve-client-keys needs --curve-secret-key-file (the learner's secret key)");
  }
}

}  // namespace hoverslam
