#include "common/build_info.h"

#include "common/build_version.h"
#include "common/protocol.h"

namespace hoverslam {

BuildInfo ThisBuild() {
  return {kBuildVersion, kBuildCommit, static_cast<int>(wire::kProtocolVersion)};
}

void RegisterBuildInfo(MetricsServer& server, std::string_view binary) {
  const BuildInfo build = ThisBuild();
  server
      .Gauge("hoverslam_build_info",
             "1, labelled with the binary, its version, the commit it was built from and the "
             "wire protocol version it speaks.",
             {{"binary", std::string(binary)},
              {"version", build.version},
              {"commit", build.commit},
              {"protocol", std::to_string(build.protocol)}})
      .Set(1);
}

}  // namespace hoverslam
