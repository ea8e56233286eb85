// Helpers shared by the actor's integration tests.
#pragma once

#include <cstdint>
#include <vector>

#include "common/protocol.h"
#include "common/rng.h"

namespace hoverslam::testing {

// A small random 6-16-2 tanh policy for the rocket, as the learner would publish it.
inline wire::Weights MakeWeights(uint64_t version, uint64_t seed) {
  Rng rng(seed);
  wire::Weights w;
  w.run = "run-a";
  w.policy_version = version;
  w.obs_dim = 6;
  w.act_dim = 2;
  w.activation = wire::Activation::kTanh;
  uint32_t in = 6;
  for (uint32_t out : {16u, 2u}) {
    wire::Layer l{in, out, std::vector<float>(out * in), std::vector<float>(out)};
    for (float& x : l.w) x = 0.3f * rng.Normal();
    for (float& x : l.b) x = 0.1f * rng.Normal();
    w.layers.push_back(l);
    in = out;
  }
  w.log_std = {-0.5f, -1.0f};
  w.obs_mean = {40, 30, 0, 0, -1, 0};
  w.obs_var = {300, 50, 0.05f, 2, 2, 0.1f};
  w.obs_clip = 5;
  return w;
}

}  // namespace hoverslam::testing
