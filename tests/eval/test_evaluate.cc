#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/rocket_env.h"
#include "eval/evaluate.h"
#include "tests/eval/eval_test_util.h"

namespace hoverslam::eval {
namespace {

using testing::Build;
using testing::ConstantPolicy;
using testing::RandomMlp;

EpisodeResult Episode(Outcome outcome, float ret, int length, float speed = -1, float tilt = 0) {
  EpisodeResult e;
  e.outcome = outcome;
  e.episode_return = ret;
  e.length = length;
  e.touched_down = speed >= 0;
  e.touchdown_speed = speed >= 0 ? speed : 0;
  e.touchdown_tilt_deg = tilt;
  return e;
}

void ExpectSameBits(const EpisodeResult& a, const EpisodeResult& b, int i) {
  EXPECT_EQ(a.outcome, b.outcome) << "episode " << i;
  EXPECT_EQ(a.length, b.length) << "episode " << i;
  EXPECT_EQ(a.touched_down, b.touched_down) << "episode " << i;
  // Bit-identical, not merely close.
  EXPECT_EQ(0, std::memcmp(&a.episode_return, &b.episode_return, sizeof(float))) << i;
  EXPECT_EQ(0, std::memcmp(&a.touchdown_speed, &b.touchdown_speed, sizeof(float))) << i;
  EXPECT_EQ(0, std::memcmp(&a.touchdown_tilt_deg, &b.touchdown_tilt_deg, sizeof(float))) << i;
}

TEST(EvalSummary, MeansAndRatesByHand) {
  // Returns 100 - 100 - 50 + 10 = -40 over 4: -10. Lengths 300 + 200 + 100 + 1200 = 1800:
  // 450. Touchdowns: only the landing and the crash: speed (0.5 + 7) / 2 = 3.75, tilt
  // (2 + 10) / 2 = 6.
  const EvalSummary s = Summarize(
      {Episode(Outcome::kLanded, 100, 300, 0.5f, 2), Episode(Outcome::kCrashed, -100, 200, 7, 10),
       Episode(Outcome::kOutOfBounds, -50, 100), Episode(Outcome::kTimeout, 10, 1200)});
  EXPECT_EQ(s.episodes, 4);
  EXPECT_EQ(s.touchdowns, 2);
  for (Outcome o : kEndedOutcomes) {
    EXPECT_EQ(s.count(o), 1) << OutcomeName(o);
    EXPECT_DOUBLE_EQ(s.rate(o), 0.25) << OutcomeName(o);
  }
  EXPECT_DOUBLE_EQ(s.mean_return, -10.0);
  EXPECT_DOUBLE_EQ(s.mean_length, 450.0);
  EXPECT_DOUBLE_EQ(s.mean_touchdown_speed, 3.75);
  EXPECT_DOUBLE_EQ(s.mean_touchdown_tilt_deg, 6.0);
}

TEST(EvalSummary, NoTouchdownMeansZeroNotNaN) {
  const EvalSummary s = Summarize({Episode(Outcome::kTimeout, 1, 1200)});
  EXPECT_EQ(s.touchdowns, 0);
  EXPECT_EQ(s.mean_touchdown_speed, 0.0);
  EXPECT_EQ(s.mean_touchdown_tilt_deg, 0.0);
  EXPECT_DOUBLE_EQ(s.rate(Outcome::kTimeout), 1.0);
}

TEST(EvalSummary, JsonLineByHand) {
  // 1 landed of 3 (0.333333 at 6 significant digits), 2 timeouts; returns 151 + 0 + 2.
  const EvalSummary s =
      Summarize({Episode(Outcome::kLanded, 151, 600, 0.25f, 1.5f),
                 Episode(Outcome::kTimeout, 0, 1200), Episode(Outcome::kTimeout, 2, 1200)});
  EXPECT_EQ(SummaryJson(s, "rocket", ControllerKind::kPolicy, 17, 1000),
            "{\"eval\":\"rocket\",\"episodes\":3,\"success_rate\":0.333333,\"crash_rate\":0,"
            "\"out_of_bounds_rate\":0,\"timeout_rate\":0.666667,\"mean_return\":51,"
            "\"mean_touchdown_speed\":0.25,\"mean_touchdown_tilt_deg\":1.5,\"mean_length\":1000,"
            "\"policy_version\":17,\"controller\":\"policy\",\"seed\":1000,"
            // sqrt((151^2 + 0^2 + 2^2) / 3 - 51^2) = sqrt(5000.67) = 70.7154
            "\"std_return\":70.7154}");
  const std::string heuristic =
      SummaryJson(s, "lunar_lander_continuous", ControllerKind::kHeuristic, std::nullopt, 7);
  EXPECT_EQ(heuristic.rfind("{\"eval\":\"lunar_lander_continuous\",", 0), 0u) << heuristic;
  EXPECT_NE(heuristic.find("\"policy_version\":null,\"controller\":\"heuristic\",\"seed\":7,"),
            std::string::npos)
      << heuristic;
}

TEST(Evaluate, HeuristicLandsNearlyEverythingWithoutWind) {
  EvalConfig config;
  config.env.spawn.wind_max = 0;
  config.episodes = 500;
  config.seed = 1000;
  const EvalSummary s = Summarize(Evaluate(config, ControllerKind::kHeuristic, nullptr).episodes);
  // Measured 500 of 500 (and 1000 of 1000 from the CLI); a margin for retuned physics.
  EXPECT_GE(s.count(Outcome::kLanded), 490);
  EXPECT_EQ(s.count(Outcome::kLanded) + s.count(Outcome::kCrashed) +
                s.count(Outcome::kOutOfBounds) + s.count(Outcome::kTimeout),
            500);
  EXPECT_DOUBLE_EQ(s.rate(Outcome::kLanded) + s.rate(Outcome::kCrashed) +
                       s.rate(Outcome::kOutOfBounds) + s.rate(Outcome::kTimeout),
                   1.0);
  EXPECT_EQ(s.touchdowns, s.count(Outcome::kLanded) + s.count(Outcome::kCrashed));
  // A landing is |vx|, |vy| <= 0.7 and |theta| <= 10 deg, so speed <= 0.7 * sqrt(2).
  EXPECT_LE(s.mean_touchdown_speed, 0.99);
  EXPECT_LE(s.mean_touchdown_tilt_deg, 10.0);
}

TEST(Evaluate, LandedEpisodesMeetTheLandingRule) {
  EvalConfig config;  // with the default wind: crashes and landings both
  config.episodes = 100;
  for (const EpisodeResult& e : Evaluate(config, ControllerKind::kHeuristic, nullptr).episodes) {
    if (e.outcome != Outcome::kLanded) continue;
    EXPECT_TRUE(e.touched_down);
    EXPECT_LE(e.touchdown_speed, 0.7f * std::sqrt(2.0f) + 1e-6f);
    EXPECT_LE(e.touchdown_tilt_deg, 10.0f + 1e-4f);
  }
}

TEST(Evaluate, NoThrustFreeFallAlwaysCrashes) {
  Policy policy = Build(ConstantPolicy(-1, 0));  // thrust (-1 + 1) / 2 = 0
  EvalConfig config;
  config.env.spawn.wind_max = 0;  // wind would add up to 2 / 1.5 = 1.33 m/s sideways
  config.episodes = 50;
  const EvalResult r = Evaluate(config, ControllerKind::kPolicy, &policy);
  const EvalSummary s = Summarize(r.episodes);
  EXPECT_EQ(s.rate(Outcome::kLanded), 0.0);
  EXPECT_EQ(s.rate(Outcome::kCrashed), 1.0);
  EXPECT_EQ(s.touchdowns, 50);
  // Linear damping c = 1.5/s caps the fall at g / c = 9.81 / 1.5 = 6.54 m/s. The centre
  // starts at y >= 30 m and the lowest corner of a body tilted <= 15 + 0.1/2 rad ~ 18 deg
  // is <= 2 cos + 1 sin = 2.21 m below it, so the drop is >= 27.8 m: at <= 6.54 m/s (the
  // start is at most 2 m/s down) that takes >= 4.25 s = 255 steps, when v = 6.54 (1 -
  // exp(-1.5 * 4.25)) = 6.53 m/s even from rest. From y <= 40 m, the drop is <= 38.1 m:
  // d(t) = 6.54 t - 4.36 (1 - exp(-1.5 t)) reaches it by t = 6.5 s = 390 steps.
  for (size_t i = 0; i < r.episodes.size(); ++i) {
    const EpisodeResult& e = r.episodes[i];
    EXPECT_GE(e.length, 255) << "episode " << i;
    EXPECT_LE(e.length, 390) << "episode " << i;
    EXPECT_GT(e.touchdown_speed, 6.4f) << "episode " << i;
    EXPECT_LT(e.touchdown_speed, 6.6f) << "episode " << i;
  }
  EXPECT_GT(s.mean_touchdown_speed, 0.7);
}

TEST(Evaluate, FullThrustLeavesTheWorld) {
  Policy policy = Build(ConstantPolicy(1, 0));  // 15 N straight along the body, no torque
  EvalConfig config;
  config.episodes = 50;
  const EvalResult r = Evaluate(config, ControllerKind::kPolicy, &policy);
  const EvalSummary s = Summarize(r.episodes);
  // Without torque the tilt settles within 15 deg + omega0 / 2 = 18 deg, so the lift
  // 15 cos(18 deg) = 14.3 N beats gravity by >= 4.46 m/s^2 (terminal 2.97 m/s up): from
  // y >= 30 m, vy >= -2 m/s the centre passes the 45 m ceiling by ~6.2 s, or it leaves
  // sideways first. Out of bounds, long before the 20 s timeout; never a touchdown.
  EXPECT_EQ(s.rate(Outcome::kOutOfBounds), 1.0);
  EXPECT_EQ(s.touchdowns, 0);
  EXPECT_EQ(s.mean_touchdown_speed, 0.0);
  // The quickest exit: 5 m up from rest at <= 15 - 9.81 = 5.19 m/s^2 takes sqrt(2 * 5 /
  // 5.19) = 1.39 s = 83 steps (sideways, 10 m at <= 4.6 m/s^2 from 2 m/s, takes 1.7 s).
  for (size_t i = 0; i < r.episodes.size(); ++i) {
    EXPECT_GE(r.episodes[i].length, 83) << "episode " << i;
    EXPECT_LE(r.episodes[i].length, 400) << "episode " << i;
  }
}

TEST(Evaluate, SameSeedSameBitsOtherSeedOtherEpisodes) {
  Policy policy = Build(RandomMlp(1));
  EvalConfig config;
  config.episodes = 20;
  config.deterministic = false;
  for (ControllerKind kind : {ControllerKind::kPolicy, ControllerKind::kRandom}) {
    const EvalResult a = Evaluate(config, kind, &policy);
    const EvalResult b = Evaluate(config, kind, &policy);
    for (int i = 0; i < config.episodes; ++i) ExpectSameBits(a.episodes[i], b.episodes[i], i);

    EvalConfig other = config;
    other.seed = config.seed + 1;
    const EvalResult c = Evaluate(other, kind, &policy);
    int differ = 0;
    for (int i = 0; i < config.episodes; ++i) {
      differ += a.episodes[i].episode_return != c.episodes[i].episode_return;
    }
    EXPECT_EQ(differ, config.episodes) << ControllerName(kind);
  }
}

TEST(Evaluate, EpisodeDoesNotDependOnHowManyRun) {
  // Episodes share policy batches; a short run must replay the long run's first episodes.
  Policy policy = Build(RandomMlp(2));
  for (bool deterministic : {true, false}) {
    EvalConfig few;
    few.episodes = 3;
    few.deterministic = deterministic;
    EvalConfig many = few;
    many.episodes = 40;
    const EvalResult a = Evaluate(few, ControllerKind::kPolicy, &policy);
    const EvalResult b = Evaluate(many, ControllerKind::kPolicy, &policy);
    for (int i = 0; i < few.episodes; ++i) ExpectSameBits(a.episodes[i], b.episodes[i], i);
  }
}

TEST(Evaluate, SamplingDiffersFromTheMean) {
  Policy policy = Build(ConstantPolicy(0.3f, 0));  // log_std 0: sigma 1, large noise
  EvalConfig config;
  config.episodes = 5;
  const EvalResult mean = Evaluate(config, ControllerKind::kPolicy, &policy);
  config.deterministic = false;
  const EvalResult sampled = Evaluate(config, ControllerKind::kPolicy, &policy);
  for (int i = 0; i < config.episodes; ++i) {
    EXPECT_NE(mean.episodes[i].episode_return, sampled.episodes[i].episode_return) << i;
  }
}

TEST(Evaluate, TracesRecordTheAppliedControls) {
  // Action [3, -0.5]: the env clips a0 to 1, so thrust (1 + 1) / 2 = 1; gimbal -0.5.
  Policy policy = Build(ConstantPolicy(3, -0.5f));
  EvalConfig config;
  config.episodes = 4;
  config.record_episodes = 2;
  const EvalResult r = Evaluate(config, ControllerKind::kPolicy, &policy);
  ASSERT_EQ(r.traces.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const EpisodeTrace& t = r.traces[i];
    EXPECT_EQ(t.episode, i);
    ExpectSameBits(t.result, r.episodes[i], i);
    ASSERT_EQ(static_cast<int>(t.points.size()), r.episodes[i].length + 1);
    EXPECT_EQ(t.points[0].thrust, 0.0f);  // nothing applied yet at the start
    for (size_t k = 1; k < t.points.size(); ++k) {
      ASSERT_EQ(t.points[k].thrust, 1.0f) << "step " << k;
      ASSERT_EQ(t.points[k].gimbal, -0.5f) << "step " << k;
    }
    // The start is the spawn distribution's: y in [30, 40] m.
    EXPECT_GE(t.points[0].state.y, 30.0f);
    EXPECT_LE(t.points[0].state.y, 40.0f);
  }
  // More to record than there are episodes: one trace per episode.
  config.record_episodes = 10;
  EXPECT_EQ(Evaluate(config, ControllerKind::kPolicy, &policy).traces.size(), 4u);
}

TEST(Evaluate, RefusesBadConfigs) {
  EvalConfig config;
  config.episodes = 0;
  EXPECT_THROW(Evaluate(config, ControllerKind::kHeuristic, nullptr), std::invalid_argument);
  config.episodes = 1;
  EXPECT_THROW(Evaluate(config, ControllerKind::kPolicy, nullptr), std::invalid_argument);
}

std::string LoadError(const std::string& path) {
  try {
    LoadPolicyFile(path, RocketSpec(RocketConfig{}));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(EvalPolicyFile, RoundTripsAndNamesWhatIsWrong) {
  testing::TempDir dir;
  const std::string good = dir / "policy.msgpack";
  testing::WritePolicyFile(good, ConstantPolicy(-1, 0, 99));
  EXPECT_EQ(LoadPolicyFile(good, RocketSpec(RocketConfig{})).version(), 99u);

  const std::string missing = dir / "missing.msgpack";
  EXPECT_NE(LoadError(missing).find(missing + ": No such file"), std::string::npos)
      << LoadError(missing);

  const std::string garbage = dir / "garbage.msgpack";
  testing::WriteFile(garbage, {'n', 'o', 't', ' ', 'm', 's', 'g', 'p', 'a', 'c', 'k'});
  EXPECT_NE(LoadError(garbage).find(garbage + ": not a wire v1 weights message"), std::string::npos)
      << LoadError(garbage);

  const std::string empty = dir / "empty.msgpack";
  testing::WriteFile(empty, {});
  EXPECT_NE(LoadError(empty).find("empty"), std::string::npos) << LoadError(empty);

  wire::Weights four = ConstantPolicy(0, 0);  // a policy for a 4-dim observation
  four.obs_dim = 4;
  four.layers[0].in = 4;
  four.layers[0].w.assign(4 * kActDim, 0.0f);
  four.obs_mean.assign(4, 0.0f);
  four.obs_var.assign(4, 1.0f);
  const std::string wrong = dir / "wrong_dims.msgpack";
  testing::WritePolicyFile(wrong, four);
  EXPECT_NE(LoadError(wrong).find(wrong + ": does not fit the rocket env: weights obs_dim 4"),
            std::string::npos)
      << LoadError(wrong);
}

}  // namespace
}  // namespace hoverslam::eval
