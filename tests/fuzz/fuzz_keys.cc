// libFuzzer target for the CURVE key-file parser (common/curve.cc's ParseKeyText),
// which reads files an operator or a Kubernetes Secret supplies. Oracles besides the
// sanitizers:
//  - it never throws;
//  - an accepted input is exactly the key, then only whitespace, and the key is 40
//    characters of Z85 that decode to 32 bytes and encode back to the same text;
//  - a refusal always says why.
#include <zmq.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "common/curve.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fuzz_keys: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  std::optional<std::string> key;
  try {
    key = hoverslam::ParseKeyText(text, &why);
  } catch (...) {
    Fail("ParseKeyText threw");
  }
  if (!key) {
    if (why.empty()) Fail("refused without a reason");
    return 0;
  }
  if (key->size() != hoverslam::kCurveKeyChars) Fail("accepted a key that is not 40 characters");
  if (text.substr(0, key->size()) != *key) Fail("the key is not the input's start");
  for (char c : text.substr(key->size())) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') Fail("accepted text after the key");
  }
  uint8_t binary[32];
  if (zmq_z85_decode(binary, key->c_str()) == nullptr) Fail("accepted a key that does not decode");
  char again[hoverslam::kCurveKeyChars + 1] = {};
  if (zmq_z85_encode(again, binary, sizeof(binary)) == nullptr || *key != again) {
    Fail("the key does not round-trip through Z85");
  }
  return 0;
}
