// CURVE keys (libzmq's, with libsodium): key files, key pairs, and the settings a
// socket needs to be a CURVE server or client. A key is 32 bytes; files and flags
// hold its 40-character Z85 text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hoverslam {

constexpr size_t kCurveKeyChars = 40;            // Z85 text of a 32-byte key
constexpr const char* kZapDomain = "hoverslam";  // the ZAP domain of every server socket

// A key file's bytes as a key: exactly one Z85 key, then nothing but whitespace
// (a trailing newline is normal). Returns the key, or nullopt and sets *why.
std::optional<std::string> ParseKeyText(std::string_view text, std::string* why);

// Read a key file. Throw std::runtime_error naming the file when it cannot be read
// or does not hold exactly one key. A secret key file that group or others can
// access is refused, as ssh refuses such a private key; as PostgreSQL allows for
// its server key, a root-owned one may be readable by its group (Kubernetes mounts
// Secret files root-owned, group fsGroup).
std::string ReadPublicKeyFile(const std::string& path);
std::string ReadSecretKeyFile(const std::string& path);

// The public key of a Z85 secret key (zmq_curve_public).
std::string CurvePublicKey(const std::string& secret_key);

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// A fresh key pair from libsodium's random source (zmq_curve_keypair).
CurveKeyPair NewCurveKeyPair();

// Writes NAME.key (mode 0600) and NAME.pub (0644), each the Z85 key and a newline.
// Throws std::runtime_error naming the file when either exists and !overwrite
// (nothing is written then), or on an I/O error.
void WriteCurveKeyPair(const std::string& name, const CurveKeyPair& keys, bool overwrite);

// A binding socket's CURVE settings; empty secret_key: plaintext (NULL mechanism).
struct CurveServer {
  std::string secret_key;               // the learner's secret key (Z85)
  std::string zap_domain = kZapDomain;  // ZAP domain, enforced: no handler, no admission
  std::string monitor;  // inproc endpoint the socket reports handshake failures to; "": none
  bool enabled() const { return !secret_key.empty(); }
};

// A connecting socket's CURVE settings; empty server_public_key: plaintext.
struct CurveClient {
  std::string server_public_key;  // the learner's public key (Z85)
  std::string secret_key;         // this process's secret key (Z85)
  std::string public_key;         // derived from secret_key
  bool enabled() const { return !server_public_key.empty(); }
};

// The key files of a connecting process (actor, evaluator), as the flags give them.
struct CurveClientFiles {
  std::string server_key_file;  // --curve-server-key-file: the learner's public key; "": plaintext
  std::string secret_key_file;  // --curve-secret-key-file: this process's secret key (mode 0600)

  bool enabled() const { return !server_key_file.empty() || !secret_key_file.empty(); }
  // Both or neither; throws std::invalid_argument naming the missing flag.
  void Validate() const;
  // Reads both files (plaintext settings when off); throws naming a bad file.
  CurveClient Load() const;
};

// The key files of the learner, as the flags give them.
struct CurveServerFiles {
  std::string secret_key_file;  // --curve-secret-key-file: the learner's secret key (mode 0600)
  std::string client_keys_dir;  // --curve-client-keys: one authorized actor key per *.pub file

  bool enabled() const { return !secret_key_file.empty() || !client_keys_dir.empty(); }
  // Both or neither: a secret key without a directory would fail open, so it is
  // refused; throws std::invalid_argument naming the missing flag.
  void Validate() const;
};

}  // namespace hoverslam
