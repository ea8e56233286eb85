// Checkpoints that cannot be trusted are refused and the previous one used: torn, flipped,
// non-finite, of other shapes or Adam state; interrupted writes and a full disk leave the
// previous checkpoint whole.
#include <gtest/gtest.h>

#include <sys/mount.h>

#include "tests/learner/checkpoint_test_util.h"

namespace hoverslam::learner {
namespace {
namespace fs = std::filesystem;
using namespace testing;  // NOLINT: the shared checkpoint helpers

TEST(Checkpoint, TornNewestFallsBackToPrevious) {
  // A crash loses the tail of a file, or leaves its length with a block never written
  // (zeros): both must be told from a whole checkpoint.
  for (const char* damage : {"tail-1", "tail-48", "tail-half", "zeros-4k"}) {
    SCOPED_TRACE(damage);
    TwoCheckpoints c(std::string("torn_") + damage);
    std::vector<char> bytes = ReadFile(c.newest);
    const size_t size = bytes.size();
    const std::string how = damage;
    if (how == "tail-1") bytes.resize(size - 1);
    if (how == "tail-48") bytes.resize(size - 48);
    if (how == "tail-half") bytes.resize(size / 2);
    if (how == "zeros-4k")
      std::fill(bytes.begin() + size / 2 - 2048, bytes.begin() + size / 2 + 2048, 0);
    WriteBytes(c.newest, bytes);
    c.ExpectPreviousLoads();
  }
}

TEST(Checkpoint, OneFlippedByteFallsBackToPrevious) {
  for (double where : {0.25, 0.5, 0.75, 0.99}) {
    SCOPED_TRACE("byte at " + std::to_string(where));
    TwoCheckpoints c("flip_" + std::to_string(static_cast<int>(where * 100)));
    std::vector<char> bytes = ReadFile(c.newest);
    bytes[static_cast<size_t>(where * static_cast<double>(bytes.size()))] ^= 0x10;
    WriteBytes(c.newest, bytes);
    c.ExpectPreviousLoads();
  }
}

TEST(Checkpoint, NonFiniteStateIsRefusedOnRestore) {
  {
    TwoCheckpoints c("nan_parameter");
    Trainer bad(kObsDim, kActDim, SmallConfig(), torch::kCPU);
    {
      torch::NoGradGuard no_grad;
      bad.model()->parameters()[0].view({-1})[0] = std::nan("");
    }
    SaveCheckpoint(c.dir, bad, {9, 900, "run-x"}, 5);  // in place of the good 9
    c.ExpectPreviousLoads();
  }
  {
    TwoCheckpoints c("inf_lr");
    Trainer bad(kObsDim, kActDim, SmallConfig(), torch::kCPU);
    bad.set_lr(INFINITY);
    SaveCheckpoint(c.dir, bad, {9, 900, "run-x"}, 5);  // in place of the good 9
    c.ExpectPreviousLoads();
  }
}

TEST(Checkpoint, OtherModelShapesAreRefusedAndLeaveTheTrainerAlone) {
  const std::string dir = FreshDir("shapes");
  PpoConfig small = SmallConfig();
  small.hidden = {16, 16};
  Trainer other(kObsDim, kActDim, small, torch::kCPU);
  SaveCheckpoint(dir, other, {5, 500, "run-x"}, 3);

  torch::manual_seed(12);
  Trainer trainer(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  torch::manual_seed(12);
  Trainer reference(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  EXPECT_FALSE(LoadNewestCheckpoint(dir, &trainer));
  EXPECT_TRUE(SameParameters(trainer, reference));
  for (const torch::Tensor& p : trainer.model()->parameters()) EXPECT_NE(p.size(-1), 16);
  fs::remove_all(dir);
}

// Puts Adam's state of `from` under `to`'s parameters, one by one: what `to` saves then has
// its own model but `from`'s optimiser state.
void TransplantAdamState(Trainer& from, Trainer* to) {
  const std::vector<torch::Tensor> source = from.model()->parameters();
  const std::vector<torch::Tensor> target = to->model()->parameters();
  ASSERT_EQ(source.size(), target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    const torch::optim::AdamParamState* s = StateOf(from, source[i]);
    ASSERT_NE(s, nullptr);
    to->optimizer().state()[c10::guts::to_string(target[i].unsafeGetTensorImpl())] =
        std::make_unique<torch::optim::AdamParamState>(*s);
  }
}

// A file whose model fits, holding an optimiser state or parameters that do not: it loads,
// and then the first Trainer::Update throws (or divides by zero), so it must be refused.
TEST(Checkpoint, AdamStateOrDtypeThatDoesNotFitIsRefused) {
  for (const char* fault :
       {"adam-of-other-sizes", "float64-moments", "negative-step", "float64-parameters"}) {
    SCOPED_TRACE(fault);
    TwoCheckpoints c(std::string("adam_") + fault);
    torch::manual_seed(13);
    Trainer bad(kObsDim, kActDim, SmallConfig(), torch::kCPU);
    bad.Update(MakeBatch(130));
    const std::string how = fault;
    if (how == "adam-of-other-sizes") {
      PpoConfig other_sizes = SmallConfig();
      other_sizes.hidden = {16, 16};
      Trainer other(kObsDim, kActDim, other_sizes, torch::kCPU);
      other.Update(MakeBatch(140));
      TransplantAdamState(other, &bad);
    }
    for (const torch::Tensor& p : bad.model()->parameters()) {
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto& s = static_cast<torch::optim::AdamParamState&>(*bad.optimizer().state().at(key));
      if (how == "float64-moments") s.exp_avg(s.exp_avg().to(torch::kFloat64));
      if (how == "negative-step") s.step(-1);
    }
    if (how == "float64-parameters") bad.model()->to(torch::kFloat64);
    SaveCheckpoint(c.dir, bad, {9, 900, "run-x"}, 5);  // in place of the good 9
    c.ExpectPreviousLoads();
  }
}

TEST(Checkpoint, TempFilesOfAnInterruptedWriteAreRemovedOnLoad) {
  TwoCheckpoints c("temp_files");
  const fs::path dir(c.dir);
  for (const char* name : {"ckpt-000000000010.pt.tmp", "policy.msgpack.tmp", "version-floor.tmp"}) {
    WriteBytes((dir / name).string(), {'p', 'a', 'r', 't'});
  }
  WriteBytes((dir / "best.msgpack.tmp").string(), {'x'});  // someone else's: left alone
  Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  ASSERT_TRUE(LoadNewestCheckpoint(c.dir, &fresh));
  for (const char* name : {"ckpt-000000000010.pt.tmp", "policy.msgpack.tmp", "version-floor.tmp"}) {
    EXPECT_FALSE(fs::exists(dir / name)) << name;
  }
  EXPECT_TRUE(fs::exists(dir / "best.msgpack.tmp"));
}

// A tmpfs of `bytes` mounted on `dir` while it lives: a disk that really fills up.
class SmallDisk {
 public:
  SmallDisk(const std::string& dir, size_t bytes) : dir_(dir) {
    const std::string options = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount(dir_.c_str());
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

TEST(Checkpoint, FullDiskLeavesThePreviousCheckpointWhole) {
  const std::string dir = FreshDir("full_disk");
  SmallDisk disk(dir, 1 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
  torch::manual_seed(21);
  Trainer trainer(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  trainer.Update(MakeBatch(210));
  const std::string path = SaveCheckpoint(dir, trainer, {20, 2000, "run-x"}, 3);
  const std::vector<char> whole = ReadFile(path);

  // Fill the disk, then free half a checkpoint: the next write runs out part-way.
  const std::string filler = (fs::path(dir) / "filler").string();
  {
    std::FILE* f = std::fopen(filler.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::vector<char> block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  fs::resize_file(filler, fs::file_size(filler) - whole.size() / 2);
  trainer.Update(MakeBatch(220));
  EXPECT_ANY_THROW(SaveCheckpoint(dir, trainer, {21, 2100, "run-x"}, 3));
  EXPECT_FALSE(AnyTempFile(dir));
  EXPECT_EQ(ListCheckpoints(dir), std::vector<std::string>{path});
  EXPECT_EQ(ReadFile(path), whole);
  Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &fresh);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->version, 20u);

  // Space again: the next checkpoint is written.
  fs::remove(filler);
  EXPECT_NO_THROW(SaveCheckpoint(dir, trainer, {22, 2200, "run-x"}, 3));
  EXPECT_EQ(ListCheckpoints(dir).size(), 2u);
}

}  // namespace
}  // namespace hoverslam::learner
