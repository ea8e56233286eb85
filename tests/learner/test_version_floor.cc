// The version floor: after a restart from an older checkpoint no version number is
// published twice, at the cost of one durable write per 64 versions.
#include <gtest/gtest.h>

#include "tests/learner/checkpoint_test_util.h"

namespace hoverslam::learner {
namespace {
namespace fs = std::filesystem;
using namespace testing;  // NOLINT: the shared checkpoint helpers

std::string FloorFile(const std::string& dir) {
  const std::vector<char> bytes = ReadFile((fs::path(dir) / "version-floor").string());
  return std::string(bytes.begin(), bytes.end());
}

// Checkpoint every 20 versions, a crash at 27: the restart from checkpoint 20 must continue
// above 27, and only one write per 64 versions pays for it.
TEST(VersionFloor, RestartContinuesAboveEveryPublishedVersion) {
  const std::string dir = FreshDir("floor");
  {
    VersionFloor floor(dir);
    EXPECT_EQ(floor.floor(), 0u);
    EXPECT_EQ(floor.Resume(std::nullopt), 0u);  // a new run starts at 0
    floor.Reserve(0);                           // before publishing version 0
    EXPECT_EQ(floor.floor(), 64u);
    EXPECT_EQ(FloorFile(dir), "64\n");
    // Inside the block nothing is written: with the file gone, it stays gone.
    fs::remove((fs::path(dir) / "version-floor").string());
    for (uint64_t v = 1; v <= 27; ++v) floor.Reserve(v);
    EXPECT_FALSE(fs::exists(fs::path(dir) / "version-floor"));
    WriteFileAtomic((fs::path(dir) / "version-floor").string(), "64\n");  // put it back
  }
  VersionFloor restarted(dir);  // the crash: checkpoint 20 is the newest
  EXPECT_EQ(restarted.floor(), 64u);
  EXPECT_EQ(restarted.Resume(20), 64u);
  EXPECT_GT(restarted.Resume(20), 27u);
  EXPECT_EQ(restarted.Resume(std::nullopt), 64u);  // no checkpoint readable: new weights
  restarted.Reserve(64);
  EXPECT_EQ(FloorFile(dir), "128\n");
  // A crash right after publishing 64 with checkpoint 20's weights: the next restart goes on
  // above 64 too.
  EXPECT_EQ(VersionFloor(dir).Resume(20), 128u);

  // A clean stop checkpoints its last version, 70, and lowers the floor to 71: a restart
  // then continues at 70 itself, the weights published as 70; from an older checkpoint, at 71.
  restarted.Lower(70);
  EXPECT_EQ(FloorFile(dir), "71\n");
  EXPECT_EQ(VersionFloor(dir).Resume(70), 70u);
  EXPECT_EQ(VersionFloor(dir).Resume(60), 71u);
  EXPECT_EQ(VersionFloor(dir).Resume(std::nullopt), 71u);
  EXPECT_EQ(VersionFloor(dir).Resume(90), 90u);  // written before the floor existed
  EXPECT_FALSE(AnyTempFile(dir));
  fs::remove_all(dir);
}

TEST(VersionFloor, DamagedFileStopsTheStartAndNoDirectoryKeepsNothing) {
  const std::string dir = FreshDir("floor_damaged");
  for (const char* text : {"", "\n", "12x\n", "64", "-3\n", "0\n", "99999999999999999999\n"}) {
    WriteFileAtomic((fs::path(dir) / "version-floor").string(), text);
    EXPECT_THROW(VersionFloor{dir}, std::runtime_error) << "'" << text << "'";
  }
  VersionFloor none("");
  none.Reserve(5);
  none.Lower(5);
  EXPECT_EQ(none.floor(), 0u);
  EXPECT_EQ(none.Resume(std::nullopt), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hoverslam::learner
