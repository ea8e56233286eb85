// A task's left-right symmetry, as maps on observations and actions: mirrored(v)[i] =
// sign[i] * v[perm[i]] + offset[i]. When the task is symmetric (dynamics, start distribution
// and reward), the mirror image of a transition is one the task could have produced, with
// the same reward; the learner trains on both.
#pragma once

#include <string>
#include <vector>

namespace hoverslam {

struct AffineMap {
  std::vector<int> perm;  // source index of each output
  std::vector<float> sign;
  std::vector<float> offset;

  int size() const { return static_cast<int>(perm.size()); }
  // out[i] = sign[i] * in[perm[i]] + offset[i] for one row of size(); in and out may not alias.
  void Apply(const float* in, float* out) const;
  // Empty when perm is a permutation of 0..size()-1 and the three have one length; else why not.
  std::string Problem() const;
};

struct MirrorSpec {
  AffineMap obs;
  AffineMap act;
};

}  // namespace hoverslam
