// Checkpoints restore a trainer exactly (model, Adam state, normaliser, lr, counters), keep
// only the newest K, skip a damaged file for the previous one, and never expose a partial
// file under a checkpoint's name.
#include "learner/checkpoint.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/files.h"

#include <c10/util/string_utils.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/protocol.h"
#include "learner/gae.h"
#include "learner/trainer.h"
#include "tests/learner/trajectories.h"

namespace hoverslam::learner {
namespace {
namespace fs = std::filesystem;

using testing::kActDim;
using testing::kObsDim;
using testing::MakeBatch;
using testing::MakeTrajectory;

// An empty directory of its own under the test temp dir.
std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) /
                       ("hoverslam_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

PpoConfig SmallConfig() {
  PpoConfig config;
  config.hidden = {32, 32};
  return config;
}

// Fixed normalised inputs for comparing models.
torch::Tensor Probe() { return torch::linspace(-3, 3, 8 * kObsDim).reshape({8, kObsDim}); }

bool SameParameters(Trainer& a, Trainer& b) {
  const auto pa = a.model()->named_parameters();
  const auto pb = b.model()->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa) {
    const torch::Tensor* other = pb.find(item.key());
    if (other == nullptr || !torch::equal(item.value(), *other)) return false;
  }
  return true;
}

const torch::optim::AdamParamState* StateOf(Trainer& trainer, const torch::Tensor& param) {
  const auto& state = trainer.optimizer().state();
  const auto it = state.find(c10::guts::to_string(param.unsafeGetTensorImpl()));
  return it == state.end() ? nullptr
                           : static_cast<const torch::optim::AdamParamState*>(it->second.get());
}

// Every Adam state tensor and step count, parameter by parameter.
void ExpectSameAdamState(Trainer& a, Trainer& b) {
  const std::vector<torch::Tensor> pa = a.model()->parameters();
  const std::vector<torch::Tensor> pb = b.model()->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  EXPECT_EQ(a.optimizer().state().size(), pa.size());
  EXPECT_EQ(b.optimizer().state().size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    const torch::optim::AdamParamState* sa = StateOf(a, pa[i]);
    const torch::optim::AdamParamState* sb = StateOf(b, pb[i]);
    ASSERT_NE(sa, nullptr);
    ASSERT_NE(sb, nullptr);
    EXPECT_GT(sa->step(), 0);
    EXPECT_EQ(sa->step(), sb->step());
    EXPECT_TRUE(torch::equal(sa->exp_avg(), sb->exp_avg()));
    EXPECT_TRUE(torch::equal(sa->exp_avg_sq(), sb->exp_avg_sq()));
    EXPECT_EQ(sa->max_exp_avg_sq().defined(), sb->max_exp_avg_sq().defined());
  }
  ASSERT_EQ(a.optimizer().param_groups().size(), b.optimizer().param_groups().size());
  for (size_t g = 0; g < a.optimizer().param_groups().size(); ++g) {
    EXPECT_EQ(a.optimizer().param_groups()[g].options().get_lr(),
              b.optimizer().param_groups()[g].options().get_lr());
  }
}

std::vector<char> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The version in a checkpoint's name, ckpt-<version>.pt.
uint64_t VersionOf(const std::string& path) {
  const std::string stem = fs::path(path).stem().string();
  EXPECT_EQ(stem.rfind("ckpt-", 0), 0u) << path;
  return std::stoull(stem.substr(5));
}

bool AnyTempFile(const std::string& dir) {
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".tmp") return true;
  }
  return false;
}

TEST(Checkpoint, RoundTripRestoresTrainerExactly) {
  const std::string dir = FreshDir("roundtrip");
  // A KL target below what these batches produce, so the adaptive schedule surely moves lr.
  PpoConfig config = SmallConfig();
  config.desired_kl = 0.002;
  torch::manual_seed(11);
  Trainer a(kObsDim, kActDim, config, torch::kCPU);
  a.Update(MakeBatch(100));
  EXPECT_LT(a.lr(), config.lr);
  a.Update(MakeBatch(200));
  a.set_lr(7.77e-4);  // not a value the schedule produces from 3e-4
  const TrainingState saved{7, 1234, "run-x"};
  const std::string path = SaveCheckpoint(dir, a, saved, /*keep=*/3);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(VersionOf(path), 7u);
  EXPECT_FALSE(AnyTempFile(dir));
  const wire::Weights exported = a.Export(7, "run-x", "rocket");

  torch::manual_seed(99);  // a different initialisation that the load must overwrite
  Trainer b(kObsDim, kActDim, config, torch::kCPU);
  ASSERT_FALSE(SameParameters(a, b));
  const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &b);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->version, 7u);
  EXPECT_EQ(loaded->env_steps, 1234u);
  EXPECT_EQ(loaded->run, "run-x");

  EXPECT_TRUE(SameParameters(a, b));
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(a.model()->Mean(Probe()), b.model()->Mean(Probe())));
    EXPECT_TRUE(torch::equal(a.model()->Value(Probe()), b.model()->Value(Probe())));
  }
  EXPECT_EQ(b.lr(), 7.77e-4);
  EXPECT_TRUE(torch::equal(a.normalizer().mean(), b.normalizer().mean()));
  EXPECT_TRUE(torch::equal(a.normalizer().var(), b.normalizer().var()));
  EXPECT_EQ(a.normalizer().count(), b.normalizer().count());
  EXPECT_EQ(b.normalizer().count(), 2.0 * 2 * 16 * 4);
  ExpectSameAdamState(a, b);

  // The same update from the same state lands on the same bits: Adam's moments and step
  // count, the lr and the normaliser all came back.
  const std::vector<wire::Trajectory> next = MakeBatch(300);
  torch::manual_seed(5);
  const UpdateStats sa = a.Update(next);
  torch::manual_seed(5);
  const UpdateStats sb = b.Update(next);
  EXPECT_EQ(sa.pg_loss, sb.pg_loss);
  EXPECT_EQ(sa.approx_kl, sb.approx_kl);
  EXPECT_TRUE(SameParameters(a, b));
  EXPECT_EQ(a.lr(), b.lr());
  EXPECT_TRUE(torch::equal(a.normalizer().var(), b.normalizer().var()));
  ExpectSameAdamState(a, b);

  // The exported policy of the same version sits beside the checkpoint.
  const std::vector<char> bytes = ReadFile((fs::path(dir) / "policy.msgpack").string());
  wire::Weights weights;
  const wire::DecodeResult result =
      wire::Decode(bytes.data(), bytes.size(), wire::Limits{}, wire::Expect{"run-x"}, &weights);
  ASSERT_TRUE(result) << result.message;
  EXPECT_EQ(weights.policy_version, 7u);
  EXPECT_EQ(weights.run, "run-x");
  EXPECT_EQ(weights.obs_dim, static_cast<uint32_t>(kObsDim));
  EXPECT_EQ(weights.act_dim, static_cast<uint32_t>(kActDim));
  ASSERT_EQ(weights.layers.size(), exported.layers.size());
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    EXPECT_EQ(weights.layers[l].w, exported.layers[l].w) << "layer " << l;
    EXPECT_EQ(weights.layers[l].b, exported.layers[l].b) << "layer " << l;
  }
  EXPECT_EQ(weights.log_std, exported.log_std);
  EXPECT_EQ(weights.obs_mean, exported.obs_mean);
  EXPECT_EQ(weights.obs_var, exported.obs_var);
  fs::remove_all(dir);
}

TEST(Checkpoint, KeepsNewestK) {
  const std::string dir = FreshDir("keep");
  torch::manual_seed(1);
  Trainer trainer(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  for (uint64_t v = 1; v <= 5; ++v) SaveCheckpoint(dir, trainer, {v, v * 100, "run-x"}, 3);
  const std::vector<std::string> kept = ListCheckpoints(dir);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(VersionOf(kept[0]), 5u);  // newest first
  EXPECT_EQ(VersionOf(kept[1]), 4u);
  EXPECT_EQ(VersionOf(kept[2]), 3u);
  EXPECT_FALSE(AnyTempFile(dir));

  Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &fresh);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->version, 5u);
  EXPECT_EQ(loaded->env_steps, 500u);
  fs::remove_all(dir);
}

TEST(Checkpoint, DamagedNewestFallsBackToPrevious) {
  const std::string dir = FreshDir("damaged");
  torch::manual_seed(2);
  Trainer trainer(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  trainer.set_lr(1.5e-4);
  SaveCheckpoint(dir, trainer, {8, 800, "run-x"}, 5);
  trainer.set_lr(2.5e-4);
  const std::string newest = SaveCheckpoint(dir, trainer, {9, 900, "run-x"}, 5);
  fs::resize_file(newest, fs::file_size(newest) / 2);

  Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &fresh);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->version, 8u);
  EXPECT_EQ(loaded->env_steps, 800u);
  EXPECT_EQ(fresh.lr(), 1.5e-4);
  EXPECT_TRUE(SameParameters(trainer, fresh));

  // Nothing readable at all: nullopt, never a throw.
  for (const std::string& path : ListCheckpoints(dir)) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a checkpoint";
  }
  Trainer other(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  EXPECT_FALSE(LoadNewestCheckpoint(dir, &other));
  EXPECT_FALSE(LoadNewestCheckpoint((fs::path(dir) / "missing").string(), &other));
  fs::remove_all(dir);
}

// Not a checkpoint property, but the trainer this file drives: BuildBatch runs GAE on messages
// of equal T side by side, which must give what one ComputeGae per message gives, in message
// order, step-major within a message.
TEST(TrainerBatch, MixedShapesMatchPerMessageGae) {
  torch::manual_seed(4);
  const PpoConfig config = SmallConfig();
  Trainer trainer(kObsDim, kActDim, config, torch::kCPU);
  const std::vector<wire::Trajectory> messages = {
      MakeTrajectory(16, 4, 1), MakeTrajectory(12, 3, 2), MakeTrajectory(16, 1, 3),
      MakeTrajectory(16, 2, 4)};
  trainer.Update(messages);  // a normaliser and critic that are not the initial ones
  const Batch batch = trainer.BuildBatch(messages);

  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const wire::Trajectory& m : messages) {
    const int64_t t = m.num_steps, n = m.num_envs;
    SCOPED_TRACE("T " + std::to_string(t) + " N " + std::to_string(n));
    const torch::Tensor raw = torch::tensor(m.obs).reshape({t + 1, n, kObsDim});
    const torch::Tensor v = trainer.model()
                                ->Value(trainer.normalizer().Normalize(raw).reshape({-1, kObsDim}))
                                .reshape({t + 1, n});
    torch::Tensor next_v = v.slice(0, 1).clone();
    const torch::Tensor final_v = trainer.model()->Value(
        trainer.normalizer().Normalize(torch::tensor(m.final_obs).reshape({-1, kObsDim})));
    for (size_t k = 0; k < m.final_idx.size(); ++k) {
      next_v.view({-1})[m.final_idx[k]] = final_v[static_cast<int64_t>(k)];
    }
    const auto flags = [&](const std::vector<uint8_t>& f) {
      return torch::tensor(std::vector<int64_t>(f.begin(), f.end())).reshape({t, n});
    };
    const GaeResult gae = ComputeGae(torch::tensor(m.rewards).reshape({t, n}) * config.reward_scale,
                                     v.slice(0, 0, t), next_v, flags(m.terminated),
                                     flags(m.truncated), config.gamma, config.gae_lambda);
    const auto rows = [&](const torch::Tensor& x) { return x.slice(0, offset, offset + t * n); };
    EXPECT_TRUE(torch::allclose(rows(batch.values), v.slice(0, 0, t).reshape({-1}), 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(rows(batch.advantages), gae.advantages.reshape({-1}), 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(rows(batch.returns), gae.returns.reshape({-1}), 1e-6, 1e-6));
    EXPECT_TRUE(torch::equal(rows(batch.raw_obs), raw.slice(0, 0, t).reshape({-1, kObsDim})));
    EXPECT_TRUE(torch::equal(rows(batch.logp), torch::tensor(m.logp)));
    offset += t * n;
  }
  EXPECT_EQ(batch.advantages.size(0), offset);
}

TEST(Checkpoint, FailedWriteLeavesPreviousFileWhole) {
  const std::string dir = FreshDir("atomic");
  torch::manual_seed(3);
  Trainer trainer(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  trainer.set_lr(1.5e-4);
  const std::string path = SaveCheckpoint(dir, trainer, {4, 400, "run-x"}, 3);
  EXPECT_FALSE(AnyTempFile(dir));

  // A directory where the temp file would go makes the next write of version 4 fail
  // part-way; the checkpoint under the final name must still be the old, whole one.
  fs::create_directory(path + ".tmp");
  trainer.set_lr(2.5e-4);
  EXPECT_ANY_THROW(SaveCheckpoint(dir, trainer, {4, 999, "run-x"}, 3));
  fs::remove(path + ".tmp");
  Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &fresh);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->env_steps, 400u);
  EXPECT_EQ(fresh.lr(), 1.5e-4);

  // The same for WriteFileAtomic: replaced whole, or not at all.
  const std::string file = (fs::path(dir) / "blob").string();
  WriteFileAtomic(file, "old!");
  WriteFileAtomic(file, "new");
  EXPECT_EQ(ReadFile(file), (std::vector<char>{'n', 'e', 'w'}));
  EXPECT_FALSE(AnyTempFile(dir));
  fs::create_directory(file + ".tmp");
  EXPECT_THROW(WriteFileAtomic(file, "bad!!"), std::runtime_error);
  EXPECT_EQ(ReadFile(file), (std::vector<char>{'n', 'e', 'w'}));
  fs::remove_all(dir);
}

// Checkpoints 8 and 9 of a trainer that trained in between; `at8` holds what 8 saved.
struct TwoCheckpoints {
  explicit TwoCheckpoints(const std::string& name)
      : dir(FreshDir(name)), at8(kObsDim, kActDim, SmallConfig(), torch::kCPU) {
    torch::manual_seed(8);
    at8.Update(MakeBatch(80));
    at8.set_lr(1.5e-4);
    SaveCheckpoint(dir, at8, {8, 800, "run-x"}, 5);
    Trainer later(kObsDim, kActDim, SmallConfig(), torch::kCPU);
    LoadNewestCheckpoint(dir, &later);
    later.Update(MakeBatch(90));
    later.set_lr(2.5e-4);
    newest = SaveCheckpoint(dir, later, {9, 900, "run-x"}, 5);
  }
  ~TwoCheckpoints() { fs::remove_all(dir); }

  // Loads into a trainer of another initialisation and checks that checkpoint 8 came back.
  void ExpectPreviousLoads() {
    torch::manual_seed(99);
    Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
    const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &fresh);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->version, 8u);
    EXPECT_EQ(loaded->env_steps, 800u);
    EXPECT_EQ(fresh.lr(), 1.5e-4);
    EXPECT_TRUE(SameParameters(at8, fresh));
    EXPECT_TRUE(torch::equal(at8.normalizer().var(), fresh.normalizer().var()));
    ExpectSameAdamState(at8, fresh);
    // What the learner does next: a refused file must leave nothing that breaks the update.
    UpdateStats stats;
    ASSERT_NO_THROW(stats = fresh.Update(MakeBatch(100)));
    EXPECT_FALSE(stats.rejected) << stats.rejected_why;
    EXPECT_GT(stats.applied_minibatches, 0);
  }

  std::string dir, newest;
  Trainer at8;
};

void WriteBytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}

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

// A checkpoint as hoverslam wrote them before the checksum trailer (format 1).
void SaveFormatOne(const std::string& path, Trainer& trainer, const TrainingState& state) {
  torch::serialize::OutputArchive archive, model, optimizer;
  trainer.model()->save(model);
  trainer.optimizer().save(optimizer);
  archive.write("model", model);
  archive.write("optimizer", optimizer);
  const ObsNormalizer::State norm = trainer.normalizer().state();
  archive.write("normalizer_mean", norm.mean);
  archive.write("normalizer_var", norm.var);
  archive.write("normalizer_count", torch::tensor(norm.count, torch::kFloat64));
  archive.write("lr", torch::tensor(trainer.lr(), torch::kFloat64));
  archive.write("version", torch::tensor(static_cast<int64_t>(state.version)));
  archive.write("env_steps", torch::tensor(static_cast<int64_t>(state.env_steps)));
  archive.write("run", torch::tensor(std::vector<uint8_t>(state.run.begin(), state.run.end())));
  archive.write("format", torch::tensor(int64_t{1}));
  archive.save_to(path);
}

TEST(Checkpoint, FormatOneFilesWithoutTrailerStillLoad) {
  // A run started before checksums must not be lost by the upgrade; a format-2 file without
  // its trailer is refused (Torn: tail-48).
  const std::string dir = FreshDir("format_one");
  torch::manual_seed(31);
  Trainer trainer(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  trainer.Update(MakeBatch(310));
  SaveFormatOne((fs::path(dir) / "ckpt-000000000003.pt").string(), trainer, {3, 300, "run-x"});
  Trainer fresh(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  const std::optional<TrainingState> loaded = LoadNewestCheckpoint(dir, &fresh);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->version, 3u);
  EXPECT_EQ(loaded->run, "run-x");
  EXPECT_TRUE(SameParameters(trainer, fresh));
  fs::remove_all(dir);
}

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
