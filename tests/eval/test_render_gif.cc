#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/render_gif.h"
#include "tests/eval/eval_test_util.h"
#include "tests/eval/gif_reader.h"

namespace hoverslam::eval {
namespace {

using testing::DecodedGif;
using testing::Rgb8;

constexpr float kDegToRad = 3.14159265358979f / 180.0f;

// Default world: 640 px over 80 m is 8 px/m; y = 45 m is the top row.
struct Px {
  int x, y;
};
Px ToPx(float x, float y) {
  return Px{static_cast<int>(x * 8.0f), static_cast<int>((45.0f - y) * 8.0f)};
}

bool IsSky(Rgb8 c) { return c.b == 255 && c.r < c.g && c.r < 200; }
bool IsGround(Rgb8 c) { return c.r > c.g && c.g > c.b && c.r < 160; }
bool IsPad(Rgb8 c) { return c.r > 200 && c.g > 150 && c.b < 60; }
bool IsBody(Rgb8 c) { return c.r > 200 && c.g > 200 && c.b > 200; }
bool IsNose(Rgb8 c) { return c.r > 150 && c.g < 60 && c.b < 60; }
bool IsFlame(Rgb8 c) { return c.r == 255 && c.b < 160 && c.g >= 100; }

std::string Show(Rgb8 c) {
  return "(" + std::to_string(c.r) + ", " + std::to_string(c.g) + ", " + std::to_string(c.b) + ")";
}

// One frame: the rocket held at `state` with these controls.
DecodedGif RenderOne(const RocketState& state, float thrust, float gimbal) {
  EpisodeTrace trace;
  trace.result.outcome = Outcome::kTimeout;
  trace.points.push_back(TracePoint{state, thrust, gimbal});
  testing::TempDir dir;
  const std::string path = dir / "one.gif";
  RenderGif({trace}, RocketConfig{}, path);
  return testing::ReadGif(path);
}

Rgb8 At(const DecodedGif& gif, float x, float y) {
  const Px p = ToPx(x, y);
  return gif.Pixel(0, p.x, p.y);
}

TEST(EvalRender, SizesAndFrameCountsByHand) {
  const ImageSize size = GifImageSize(RocketPhysicsConfig{}, GifOptions{});
  EXPECT_EQ(size.width, 640);
  EXPECT_EQ(size.height, 384);  // (45 m + 3 m of ground) * 8 px/m
  const GifOptions o;           // every 2nd step and the last
  EXPECT_EQ(GifFrameCount(0, o), 1);
  EXPECT_EQ(GifFrameCount(5, o), 4);  // steps 0, 2, 4, 5
  EXPECT_EQ(GifFrameCount(6, o), 4);  // steps 0, 2, 4, 6
}

TEST(EvalRender, DrawsWorldPadAndUprightRocket) {
  const DecodedGif gif = RenderOne(RocketState{20, 20, 0, 0, 0, 0}, 0, 0);
  ASSERT_EQ(gif.frames.size(), 1u);
  EXPECT_TRUE(IsSky(At(gif, 70, 40))) << Show(At(gif, 70, 40));
  EXPECT_TRUE(IsGround(At(gif, 10, -2))) << Show(At(gif, 10, -2));
  // Pad: x = 40 +- 5 m (reward.pad_half_width), on top of the ground.
  for (float x : {35.5f, 40.0f, 44.5f}) EXPECT_TRUE(IsPad(At(gif, x, -0.3f))) << x;
  for (float x : {34.0f, 46.0f}) EXPECT_TRUE(IsGround(At(gif, x, -0.3f))) << x;
  // 2 m x 4 m body centred at (20, 20), red nose at the top.
  EXPECT_TRUE(IsBody(At(gif, 20, 20))) << Show(At(gif, 20, 20));
  EXPECT_TRUE(IsNose(At(gif, 20, 21.7f))) << Show(At(gif, 20, 21.7f));
  EXPECT_TRUE(IsSky(At(gif, 20, 22.5f)));
  EXPECT_TRUE(IsSky(At(gif, 21.5f, 20)));
  // No thrust, no flame below the body.
  EXPECT_TRUE(IsSky(At(gif, 20, 16)));
}

TEST(EvalRender, CounterClockwiseThetaTipsTheNoseLeft) {
  // theta = +90 deg: the body lies along x with its nose toward -x.
  const DecodedGif gif = RenderOne(RocketState{20, 20, 90 * kDegToRad, 0, 0, 0}, 0, 0);
  EXPECT_TRUE(IsNose(At(gif, 18.3f, 20))) << Show(At(gif, 18.3f, 20));
  EXPECT_TRUE(IsBody(At(gif, 21.5f, 20))) << Show(At(gif, 21.5f, 20));
  EXPECT_TRUE(IsSky(At(gif, 20, 21.5f)));
}

TEST(EvalRender, FlameLeavesOppositeToTheThrust) {
  // RocketPhysics pushes an upright rocket along (sin d, cos d) for gimbal angle d, at
  // 1 m below the centre (a positive gimbal turns it counter-clockwise and pushes +x),
  // so the exhaust leaves from (20, 19) along (-sin d, -cos d). At full gimbal, 15 deg,
  // 4.5 m down the flame is at (20 - 1.165, 19 - 4.347); the mirror point is sky.
  const float dx = 4.5f * std::sin(15 * kDegToRad), dy = 4.5f * std::cos(15 * kDegToRad);
  for (float gimbal : {1.0f, -1.0f}) {
    const DecodedGif gif = RenderOne(RocketState{20, 20, 0, 0, 0, 0}, 1.0f, gimbal);
    const Rgb8 flame = At(gif, 20 - gimbal * dx, 19 - dy);
    const Rgb8 mirror = At(gif, 20 + gimbal * dx, 19 - dy);
    EXPECT_TRUE(IsFlame(flame)) << "gimbal " << gimbal << ": " << Show(flame);
    EXPECT_TRUE(IsSky(mirror)) << "gimbal " << gimbal << ": " << Show(mirror);
  }
  // The length follows the thrust: at 0.25 of max the flame is 2 m long (8 m at full),
  // all but 1 m of it hidden by the body above, so 4.5 m down is sky.
  const DecodedGif weak = RenderOne(RocketState{20, 20, 0, 0, 0, 0}, 0.25f, 0);
  EXPECT_TRUE(IsFlame(At(weak, 20, 17.5f))) << Show(At(weak, 20, 17.5f));
  EXPECT_TRUE(IsSky(At(weak, 20, 14.5f))) << Show(At(weak, 20, 14.5f));
}

EpisodeTrace Falling(int episode, int length) {
  EpisodeTrace t;
  t.episode = episode;
  t.result.outcome = Outcome::kCrashed;
  t.result.length = length;
  for (int k = 0; k <= length; ++k) {
    t.points.push_back(TracePoint{RocketState{40, 30.0f - k, 0, 0, -60, 0}, 0.5f, 0});
  }
  return t;
}

TEST(EvalRender, FramesDelaysHeaderAndLoop) {
  testing::TempDir dir;
  const std::string path = dir / "two.gif";
  RenderGif({Falling(0, 5), Falling(1, 6)}, RocketConfig{}, path);

  const std::string bytes = testing::ReadBytes(path);
  ASSERT_GE(bytes.size(), 13u);
  EXPECT_EQ(bytes.substr(0, 6), "GIF89a");
  // Logical screen: width and height, little-endian: 640 = 0x0280, 384 = 0x0180.
  EXPECT_EQ(bytes.substr(6, 4), std::string("\x80\x02\x80\x01", 4));
  // NETSCAPE2.0 sub-block: 3 bytes, id 1, loop count 0 (forever).
  EXPECT_NE(bytes.find(std::string("NETSCAPE2.0\x03\x01\x00\x00", 15)), std::string::npos);

  const DecodedGif gif = testing::ReadGif(path);
  EXPECT_EQ(gif.width, 640);
  EXPECT_EQ(gif.height, 384);
  // Steps 0, 2, 4, 5 then 0, 2, 4, 6. A frame lasts until the next one's time on the
  // episode clock, rounded to 1/100 s: 100 * [0, 2, 4, 5] / 60 = [0, 3.33, 6.67, 8.33]
  // rounds to [0, 3, 7, 8]: delays 3, 4, 1; the last frame is held 100 cs.
  EXPECT_EQ(gif.delays_cs, (std::vector<int>{3, 4, 1, 100, 3, 4, 3, 100}));
  // Frame 2 of episode 0 is step 4: the rocket's centre at (40, 26).
  EXPECT_TRUE(IsBody(gif.Pixel(2, ToPx(40, 26).x, ToPx(40, 26).y)));
  EXPECT_TRUE(IsSky(gif.Pixel(2, ToPx(40, 30).x, ToPx(40, 30).y)));  // step 0's place, redrawn

  // Written by rename: nothing else is left in the directory.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "two.gif");
  }
  EXPECT_EQ(files, 1);
}

TEST(EvalRender, UnwritablePathNamesTheFile) {
  const std::string path = "/nonexistent-hoverslam-dir/out.gif";
  try {
    RenderGif({Falling(0, 2)}, RocketConfig{}, path);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

// LunarLander: the evaluation records the hull and legs, and the GIF shows the hull where it
// is (20 m over 640 px: 32 px/m; 13.33 m of world: 427 rows) over the recorded terrain.
TEST(EvalRender, LunarLanderEpisodeIsDrawnWhereItWas) {
  EvalConfig config;
  config.env_name = "lunar_lander_continuous";
  config.episodes = 1;
  config.record_episodes = 1;
  const EvalResult result = Evaluate(config, ControllerKind::kHeuristic, nullptr);
  ASSERT_EQ(result.traces.size(), 1u);
  const EpisodeTrace& trace = result.traces[0];
  ASSERT_EQ(static_cast<int>(trace.lunar.size()), result.episodes[0].length + 1);
  ASSERT_EQ(trace.terrain.size(), 11u);

  testing::TempDir dir;
  const std::string path = dir / "lunar.gif";
  RenderLunarGif(result.traces, path);
  const DecodedGif gif = testing::ReadGif(path);
  EXPECT_EQ(gif.width, 640);
  EXPECT_EQ(gif.height, 427);
  EXPECT_EQ(gif.frames.size(), static_cast<size_t>(GifFrameCount(result.episodes[0].length, {})));
  const auto px = [](float x, float y) {
    return Px{static_cast<int>(x * 32.0f), static_cast<int>((400.0f / 30.0f - y) * 32.0f)};
  };
  const auto is_hull = [](Rgb8 c) { return c.b > 200 && c.r > 100 && c.r < 160 && c.g < 130; };
  // Frame f shows step 2f (the last frame, the last step); the start is at the top edge.
  const int last_frame = static_cast<int>(gif.frames.size()) - 1;
  for (int frame : {last_frame / 2, last_frame}) {
    const LunarPoint& p = frame == last_frame ? trace.lunar.back() : trace.lunar[2 * frame];
    // The hull's centre is about 0.1 m above the body origin.
    const Px c = px(p.x[0], p.y[0] + 0.1f);
    EXPECT_TRUE(is_hull(gif.Pixel(frame, c.x, c.y)))
        << "frame " << frame << ": " << Show(gif.Pixel(frame, c.x, c.y));
  }
  // Ground below the pad (x = 10 m), sky at the top right.
  const Px pad = px(10, trace.terrain[5] - 0.5f);
  EXPECT_FALSE(IsSky(gif.Pixel(0, pad.x, pad.y))) << Show(gif.Pixel(0, pad.x, pad.y));
  EXPECT_TRUE(IsSky(gif.Pixel(0, 620, 60))) << Show(gif.Pixel(0, 620, 60));
}

}  // namespace
}  // namespace hoverslam::eval
