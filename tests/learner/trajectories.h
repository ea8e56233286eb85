// Rocket-like trajectories for learner tests: observations near the rocket's states,
// actions sampled from roughly the initial policy with their true log-probabilities.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/protocol.h"

namespace hoverslam::learner::testing {

constexpr int kObsDim = 6;
constexpr int kActDim = 2;

// T >= 10 steps of N envs with one terminated step (t=5, env 1 % N) and one truncated step
// (t=9, env 2 % N) that carries its true last observation.
inline wire::Trajectory MakeTrajectory(uint32_t t, uint32_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  const float scale[kObsDim] = {30.f, 5.f, 0.2f, 2.f, 2.f, 0.1f};
  const float offset[kObsDim] = {40.f, 35.f, 0.f, 0.f, -1.f, 0.f};
  const auto fill_obs = [&](std::vector<float>& v) {
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = offset[i % kObsDim] + scale[i % kObsDim] * normal(rng);
  };
  wire::Trajectory m;
  m.run = "run-x";
  m.actor = "actor-0";
  m.Resize(t, n, kObsDim, kActDim);
  fill_obs(m.obs);
  // Behaviour policy N(0, exp(-0.5)^2), roughly the initial one, so ratios start near 1.
  const float log_std = -0.5f, sigma = std::exp(log_std);
  for (size_t i = 0; i < m.logp.size(); ++i) {
    float logp = 0;
    for (int j = 0; j < kActDim; ++j) {
      const float z = normal(rng);
      m.actions[i * kActDim + j] = sigma * z;
      logp += -0.5f * z * z - log_std - 0.9189385f;
    }
    m.logp[i] = logp;
    m.rewards[i] = normal(rng);
  }
  m.terminated[5 * n + 1 % n] = 1;
  m.truncated[9 * n + 2 % n] = 1;
  m.final_idx = {9 * n + 2 % n};
  m.final_obs.resize(kObsDim);
  fill_obs(m.final_obs);
  return m;
}

inline std::vector<wire::Trajectory> MakeBatch(uint32_t seed) {
  return {MakeTrajectory(16, 4, seed), MakeTrajectory(16, 4, seed + 1)};
}

}  // namespace hoverslam::learner::testing
