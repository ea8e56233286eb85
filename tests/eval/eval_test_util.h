// Policies built by hand for the eval tests.
#pragma once

#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/policy.h"
#include "common/protocol.h"
#include "common/rng.h"
#include "common/rocket_env.h"

namespace hoverslam::eval::testing {

// One linear layer with zero weights: every observation gets action `bias` (before
// the env clips it), e.g. {-1, 0} is no thrust and {1, 0} full thrust, no gimbal.
inline wire::Weights ConstantPolicy(float a0, float a1, uint64_t version = 42) {
  wire::Weights w;
  w.policy_version = version;
  w.obs_dim = kObsDim;
  w.act_dim = kActDim;
  wire::Layer layer;
  layer.in = kObsDim;
  layer.out = kActDim;
  layer.w.assign(kObsDim * kActDim, 0.0f);
  layer.b = {a0, a1};
  w.layers.push_back(layer);
  w.log_std = {0.0f, 0.0f};
  w.obs_mean.assign(kObsDim, 0.0f);
  w.obs_var.assign(kObsDim, 1.0f);
  return w;
}

// A 6-64-64-2 tanh MLP with random weights: exercises the batched products.
inline wire::Weights RandomMlp(uint64_t seed) {
  wire::Weights w = ConstantPolicy(0, 0, 3);
  w.layers.clear();
  Rng rng(seed);
  const uint32_t sizes[] = {kObsDim, 64, 64, kActDim};
  for (int l = 0; l < 3; ++l) {
    wire::Layer layer;
    layer.in = sizes[l];
    layer.out = sizes[l + 1];
    for (uint32_t i = 0; i < layer.in * layer.out; ++i) {
      layer.w.push_back(rng.Normal() / std::sqrt(static_cast<float>(layer.in)));
    }
    for (uint32_t i = 0; i < layer.out; ++i) layer.b.push_back(0.1f * rng.Normal());
    w.layers.push_back(layer);
  }
  w.log_std = {-0.5f, -0.5f};
  w.obs_mean = {40, 20, 0, 0, -2, 0};
  w.obs_var = {400, 100, 0.1f, 4, 9, 0.1f};
  return w;
}

// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path() / "hoverslam_eval_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Policy Build(const wire::Weights& weights) {
  std::string why;
  std::optional<Policy> policy = Policy::FromWeights(weights, kObsDim, kActDim, &why);
  if (!policy) throw std::runtime_error(why);
  return std::move(*policy);
}

inline void WriteFile(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

inline void WritePolicyFile(const std::string& path, const wire::Weights& weights) {
  std::vector<char> bytes;
  wire::Encode(weights, &bytes);
  WriteFile(path, bytes);
}

}  // namespace hoverslam::eval::testing
