#include "common/rng.h"

#include <cmath>

namespace hoverslam {

float Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // u1 in (0, 1] keeps log finite.
  const double u1 = (static_cast<double>(NextU64() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(NextU64() >> 11) * 0x1.0p-53;
  const double r = std::sqrt(-2.0 * std::log(u1)), phi = 2.0 * M_PI * u2;
  spare_ = static_cast<float>(r * std::sin(phi));
  has_spare_ = true;
  return static_cast<float>(r * std::cos(phi));
}

}  // namespace hoverslam
