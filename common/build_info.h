// What a binary was built from, for `hoverslam_build_info` and --version: dashboards show
// which build each pod runs, and a rollout that mixes two builds is visible at a glance.
#pragma once

#include <string>
#include <string_view>

#include "common/metrics.h"

namespace hoverslam {

struct BuildInfo {
  std::string version;  // the CMake project version
  std::string commit;   // git commit of the source tree, "unknown" outside a checkout
  int protocol = 0;     // wire protocol version spoken
};

BuildInfo ThisBuild();

// `hoverslam_build_info{binary, version, commit, protocol} 1`.
void RegisterBuildInfo(MetricsServer& server, std::string_view binary);

}  // namespace hoverslam
