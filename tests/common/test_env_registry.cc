// What every registered env owes the rest of the system: a whole spec, the clip to its own
// action bounds, determinism by seed, a refused non-finite action and an end by its time
// limit. A user's env added to the registry is checked by these tests with no new code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/env_registry.h"
#include "common/rng.h"

namespace hoverslam {
namespace {

std::vector<std::string> RegisteredNames() {
  std::vector<std::string> names;
  for (const EnvEntry& e : EnvRegistry()) names.push_back(e.name);
  return names;
}

class EveryEnv : public ::testing::TestWithParam<std::string> {
 protected:
  const EnvEntry& entry() const { return FindEnv(GetParam()); }
  EnvSpec spec() const { return entry().spec(EnvOptions{}); }
  std::unique_ptr<Env> Make(uint64_t seed) const { return entry().make(EnvOptions{}, seed); }
};

TEST_P(EveryEnv, SpecIsWholeAndNamedAsRegistered) {
  const EnvSpec s = spec();
  EXPECT_EQ(CheckSpec(s), "");
  EXPECT_EQ(s.name, GetParam());
  const auto env = Make(1);
  EXPECT_EQ(env->spec().name, s.name);
  EXPECT_EQ(env->spec().obs_dim, s.obs_dim);
  EXPECT_EQ(env->spec().act_dim, s.act_dim);
}

// Two envs of one seed: one is given actions up to a bound's width past its bounds, the other
// the same actions clipped by hand. They must agree exactly, step by step, over two episodes
// (each ends by the time limit at the latest).
TEST_P(EveryEnv, ActionsBeyondTheBoundsActAsTheBounds) {
  const EnvSpec s = spec();
  auto wild = Make(7), clipped = Make(7);
  std::vector<float> obs_w(s.obs_dim), obs_c(s.obs_dim), a_w(s.act_dim), a_c(s.act_dim);
  wild->Reset(obs_w.data());
  clipped->Reset(obs_c.data());
  Rng rng(3);
  int episodes = 0, outside = 0, steps = 0;
  for (; episodes < 2 && steps <= 2 * s.max_episode_steps; ++steps) {
    for (int k = 0; k < s.act_dim; ++k) {
      const float width = s.action_high[k] - s.action_low[k];
      a_w[k] = rng.Uniform(s.action_low[k] - width, s.action_high[k] + width);
      a_c[k] = std::clamp(a_w[k], s.action_low[k], s.action_high[k]);
      outside += a_w[k] != a_c[k];
    }
    const StepResult rw = wild->Step(a_w.data(), obs_w.data());
    const StepResult rc = clipped->Step(a_c.data(), obs_c.data());
    ASSERT_EQ(obs_w, obs_c) << "step " << steps;
    ASSERT_EQ(rw.reward, rc.reward) << "step " << steps;
    ASSERT_EQ(rw.outcome, rc.outcome) << "step " << steps;
    if (rw.outcome != Outcome::kNone) {
      ++episodes;
      wild->Reset(obs_w.data());
      clipped->Reset(obs_c.data());
    }
  }
  EXPECT_EQ(episodes, 2);
  EXPECT_GT(outside, steps * s.act_dim / 2);  // 2 in 3 draws are out of bounds
}

TEST_P(EveryEnv, SameSeedSameEpisodeAndSeedsDiffer) {
  const EnvSpec s = spec();
  auto a = Make(11), b = Make(11), c = Make(12);
  std::vector<float> oa(s.obs_dim), ob(s.obs_dim), oc(s.obs_dim);
  a->Reset(oa.data());
  b->Reset(ob.data());
  c->Reset(oc.data());
  EXPECT_EQ(oa, ob);
  EXPECT_NE(oa, oc);
  for (float x : oa) EXPECT_TRUE(std::isfinite(x));
}

TEST_P(EveryEnv, NonFiniteActionIsRefused) {
  const EnvSpec s = spec();
  auto env = Make(1);
  std::vector<float> obs(s.obs_dim), action(s.act_dim, 0.0f);
  env->Reset(obs.data());
  action[s.act_dim - 1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(env->Step(action.data(), obs.data()), std::invalid_argument);
}

// With its heuristic, every episode ends by the time limit at the latest, with the outcome
// and the flags agreeing; the heuristic stays inside the bounds.
TEST_P(EveryEnv, HeuristicEpisodesEndByTheTimeLimitWithConsistentFlags) {
  const EnvSpec s = spec();
  const Controller heuristic = entry().heuristic(EnvOptions{});
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto env = Make(seed);
    std::vector<float> obs(s.obs_dim), action(s.act_dim);
    env->Reset(obs.data());
    StepResult r;
    int steps = 0;
    while (r.outcome == Outcome::kNone) {
      ASSERT_LT(steps, s.max_episode_steps) << "seed " << seed << " ran past the limit";
      heuristic(obs.data(), action.data());
      for (int k = 0; k < s.act_dim; ++k) {
        ASSERT_GE(action[k], s.action_low[k]);
        ASSERT_LE(action[k], s.action_high[k]);
      }
      r = env->Step(action.data(), obs.data());
      ++steps;
    }
    EXPECT_EQ(env->episode_steps(), steps);
    EXPECT_NE(r.terminated, r.truncated) << "seed " << seed;
    EXPECT_EQ(r.truncated, r.outcome == Outcome::kTimeout) << "seed " << seed;
    EXPECT_EQ(r.truncated, steps == s.max_episode_steps) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryEnv, ::testing::ValuesIn(RegisteredNames()),
                         [](const auto& info) { return info.param; });

TEST(CheckSpec, NamesWhatIsWrong) {
  const EnvSpec good = FindEnv(kDefaultEnvName).spec(EnvOptions{});
  ASSERT_EQ(CheckSpec(good), "");
  auto broken = [&](auto edit) {
    EnvSpec s = good;
    edit(s);
    return CheckSpec(s);
  };
  EXPECT_EQ(broken([](EnvSpec& s) { s.name = ""; }), "name is empty");
  EXPECT_EQ(broken([](EnvSpec& s) { s.obs_dim = 0; }), "obs_dim must be > 0");
  EXPECT_EQ(broken([](EnvSpec& s) { s.act_dim = 3; }),
            "action_low and action_high need act_dim values each");
  EXPECT_EQ(broken([](EnvSpec& s) { s.action_high[1] = s.action_low[1]; }),
            "action dim 1 needs finite bounds with low < high");
  EXPECT_EQ(broken([](EnvSpec& s) { s.action_low[0] = -INFINITY; }),
            "action dim 0 needs finite bounds with low < high");
  EXPECT_EQ(broken([](EnvSpec& s) { s.max_episode_steps = 0; }), "max_episode_steps must be > 0");
  EXPECT_EQ(broken([](EnvSpec& s) { s.step_seconds = NAN; }),
            "step_seconds must be positive and finite");
  EXPECT_NE(broken([](EnvSpec& s) { s.outcome_meanings.pop_back(); }), "");
  EXPECT_EQ(broken([](EnvSpec& s) { std::swap(s.return_buckets[0], s.return_buckets[1]); }),
            "return_buckets must be finite and strictly ascending");
}

}  // namespace
}  // namespace hoverslam
