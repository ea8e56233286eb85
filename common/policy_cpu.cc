// Compiled without special flags, so it can run on any x86-64 to say whether
// policy.cc's instructions are there.
#include "common/policy.h"

namespace hoverslam {

bool PolicyCpuSupported(std::string* why) {
#if defined(HOVERSLAM_POLICY_NEEDS_AVX2)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    if (why) {
      *why =
          "this build's policy kernels need AVX2 and FMA (x86-64-v3), which this CPU lacks; "
          "rebuild with -DHOVERSLAM_POLICY_ARCH= for any x86-64";
    }
    return false;
  }
#endif
  (void)why;
  return true;
}

}  // namespace hoverslam
