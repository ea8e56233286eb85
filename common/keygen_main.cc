// hoverslam-keygen NAME: a CURVE key pair for the learner or an actor. NAME.key is
// the secret (mode 0600, for --curve-secret-key-file); NAME.pub the public key (for
// the learner's --curve-client-keys directory, or the clients' --curve-server-key-file).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "common/curve.h"

int main(int argc, char** argv) {
  using namespace hoverslam;
  std::string name;
  bool force = false;
  CLI::App app{
      "hoverslam-keygen: writes a CURVE key pair, NAME.key (secret, mode 0600) and NAME.pub "
      "(public, 0644)."};
  app.add_option("name", name, "path and base name of the two files")->required();
  app.add_flag("--force", force, "replace existing NAME.key and NAME.pub");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    const CurveKeyPair keys = NewCurveKeyPair();
    WriteCurveKeyPair(name, keys, force);
    std::printf("wrote %s.key (secret, 0600) and %s.pub (public key %s)\n", name.c_str(),
                name.c_str(), keys.public_key.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoverslam-keygen: %s\n", e.what());
    return 1;
  }
  return 0;
}
