// What the checkpoint tests share: fresh directories, small trainers, exact comparisons of
// models and Adam state, and two checkpoints to damage.
#pragma once

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
#include "learner/checkpoint.h"
#include "learner/gae.h"
#include "learner/trainer.h"
#include "tests/learner/trajectories.h"

namespace hoverslam::learner::testing {
namespace fs = std::filesystem;

// An empty directory of its own under the test temp dir.
inline std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) /
                       ("hoverslam_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

inline PpoConfig SmallConfig() {
  PpoConfig config;
  config.hidden = {32, 32};
  return config;
}

// Fixed normalised inputs for comparing models.
inline torch::Tensor Probe() { return torch::linspace(-3, 3, 8 * kObsDim).reshape({8, kObsDim}); }

inline bool SameParameters(Trainer& a, Trainer& b) {
  const auto pa = a.model()->named_parameters();
  const auto pb = b.model()->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa) {
    const torch::Tensor* other = pb.find(item.key());
    if (other == nullptr || !torch::equal(item.value(), *other)) return false;
  }
  return true;
}

inline const torch::optim::AdamParamState* StateOf(Trainer& trainer, const torch::Tensor& param) {
  const auto& state = trainer.optimizer().state();
  const auto it = state.find(c10::guts::to_string(param.unsafeGetTensorImpl()));
  return it == state.end() ? nullptr
                           : static_cast<const torch::optim::AdamParamState*>(it->second.get());
}

// Every Adam state tensor and step count, parameter by parameter.
inline void ExpectSameAdamState(Trainer& a, Trainer& b) {
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

inline std::vector<char> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The version in a checkpoint's name, ckpt-<version>.pt.
inline uint64_t VersionOf(const std::string& path) {
  const std::string stem = fs::path(path).stem().string();
  EXPECT_EQ(stem.rfind("ckpt-", 0), 0u) << path;
  return std::stoull(stem.substr(5));
}

inline bool AnyTempFile(const std::string& dir) {
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".tmp") return true;
  }
  return false;
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

inline void WriteBytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}

}  // namespace hoverslam::learner::testing
