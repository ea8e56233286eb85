// Checkpoints restore a trainer exactly (model, Adam state, normaliser, lr, counters), keep
// only the newest K, skip a damaged file for the previous one, and never expose a partial
// file under a checkpoint's name.
#include <gtest/gtest.h>

#include "tests/learner/checkpoint_test_util.h"

namespace hoverslam::learner {
namespace {
namespace fs = std::filesystem;
using namespace testing;  // NOLINT: the shared checkpoint helpers

// A checkpoint records its env: a learner of that env resumes it, a learner of another refuses
// the directory outright (no fallback to an older file, nothing pruned), naming both envs.
TEST(Checkpoint, RecordsItsEnvAndRefusesALearnerOfAnother) {
  const std::string dir = FreshDir("env");
  Trainer a(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  SaveCheckpoint(dir, a, TrainingState{2, 64, "run-e", "rocket"}, /*keep=*/3);
  SaveCheckpoint(dir, a, TrainingState{3, 96, "run-e", "lunar_lander_continuous"}, /*keep=*/3);

  Trainer b(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  const std::optional<TrainingState> loaded =
      LoadNewestCheckpoint(dir, &b, "lunar_lander_continuous");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->version, 3u);
  EXPECT_EQ(loaded->env, "lunar_lander_continuous");

  Trainer c(kObsDim, kActDim, SmallConfig(), torch::kCPU);
  try {
    LoadNewestCheckpoint(dir, &c, "rocket");
    ADD_FAILURE() << "expected CheckpointEnvMismatch";
  } catch (const CheckpointEnvMismatch& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'lunar_lander_continuous'"), std::string::npos) << what;
    EXPECT_NE(what.find("'rocket'"), std::string::npos) << what;
  }
  EXPECT_EQ(ListCheckpoints(dir).size(), 2u);
  fs::remove_all(dir);
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

}  // namespace
}  // namespace hoverslam::learner
