#include "common/mirror.h"

#include <algorithm>

namespace hoverslam {

void AffineMap::Apply(const float* in, float* out) const {
  for (int i = 0; i < size(); ++i) out[i] = sign[i] * in[perm[i]] + offset[i];
}

std::string AffineMap::Problem() const {
  if (sign.size() != perm.size() || offset.size() != perm.size()) {
    return "perm, sign and offset differ in length";
  }
  std::vector<int> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < size(); ++i) {
    if (sorted[i] != i) return "perm is not a permutation of 0.." + std::to_string(size() - 1);
  }
  return "";
}

}  // namespace hoverslam
