// Test support: bit-exact comparison of wire messages.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "common/protocol.h"

namespace hoverslam::testing {

template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Every field of two trajectories equal, arrays to the bit.
inline void ExpectSameTrajectory(const wire::Trajectory& a, const wire::Trajectory& b) {
  EXPECT_EQ(a.run, b.run);
  EXPECT_EQ(a.env, b.env);
  EXPECT_EQ(a.actor, b.actor);
  EXPECT_EQ(a.policy_version, b.policy_version);
  EXPECT_EQ(a.num_steps, b.num_steps);
  EXPECT_EQ(a.num_envs, b.num_envs);
  EXPECT_EQ(a.obs_dim, b.obs_dim);
  EXPECT_EQ(a.act_dim, b.act_dim);
  EXPECT_TRUE(SameBits(a.obs, b.obs));
  EXPECT_TRUE(SameBits(a.actions, b.actions));
  EXPECT_TRUE(SameBits(a.logp, b.logp));
  EXPECT_TRUE(SameBits(a.rewards, b.rewards));
  EXPECT_TRUE(SameBits(a.terminated, b.terminated));
  EXPECT_TRUE(SameBits(a.truncated, b.truncated));
  EXPECT_TRUE(SameBits(a.final_idx, b.final_idx));
  EXPECT_TRUE(SameBits(a.final_obs, b.final_obs));
  ASSERT_EQ(a.episodes.size(), b.episodes.size());
  for (size_t i = 0; i < a.episodes.size(); ++i) {
    EXPECT_EQ(a.episodes[i].episode_return, b.episodes[i].episode_return);
    EXPECT_EQ(a.episodes[i].length, b.episodes[i].length);
    EXPECT_EQ(a.episodes[i].outcome, b.episodes[i].outcome);
  }
}

}  // namespace hoverslam::testing
