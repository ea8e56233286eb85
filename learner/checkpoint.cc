#include "learner/checkpoint.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "common/files.h"

namespace hoverslam::learner {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kFormat = 1;  // bump when the layout below changes
constexpr const char* kPrefix = "ckpt-";
constexpr const char* kSuffix = ".pt";

std::string CheckpointName(uint64_t version) {
  char name[40];
  std::snprintf(name, sizeof(name), "%s%012llu%s", kPrefix,
                static_cast<unsigned long long>(version), kSuffix);
  return name;
}

torch::Tensor StringTensor(const std::string& s) {
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())},
                          torch::kUInt8)
      .clone();
}

std::string TensorString(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kUInt8).contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

torch::Tensor Read(torch::serialize::InputArchive& in, const std::string& key) {
  torch::Tensor t;
  in.read(key, t);
  return t;
}

}  // namespace

std::string SaveCheckpoint(const std::string& dir, Trainer& trainer, const TrainingState& state,
                           int keep) {
  fs::create_directories(dir);
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
  archive.write("run", StringTensor(state.run));
  archive.write("format", torch::tensor(kFormat));

  const std::string path = (fs::path(dir) / CheckpointName(state.version)).string();
  const std::string tmp = path + ".tmp";
  archive.save_to(tmp);
  SyncPath(tmp);
  fs::rename(tmp, path);  // atomic: readers see the old file or the whole new one
  SyncDirectory(dir);

  std::vector<char> policy;
  wire::Encode(trainer.Export(state.version, state.run, "rocket"), &policy);
  WriteFileAtomic((fs::path(dir) / "policy.msgpack").string(),
                  std::string_view(policy.data(), policy.size()));

  const std::vector<std::string> all = ListCheckpoints(dir);
  for (size_t i = static_cast<size_t>(keep); i < all.size(); ++i) fs::remove(all[i]);
  return path;
}

std::vector<std::string> ListCheckpoints(const std::string& dir) {
  std::vector<std::string> found;
  if (!fs::is_directory(dir)) return found;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.rfind(kPrefix, 0) == 0 && name.size() > 3 &&
        name.compare(name.size() - 3, 3, kSuffix) == 0) {
      found.push_back(e.path().string());
    }
  }
  // Zero-padded versions: name order is version order.
  std::sort(found.rbegin(), found.rend());
  return found;
}

std::optional<TrainingState> LoadNewestCheckpoint(const std::string& dir, Trainer* trainer) {
  for (const std::string& path : ListCheckpoints(dir)) {
    try {
      torch::serialize::InputArchive archive, model, optimizer;
      archive.load_from(path, trainer->device());
      if (Read(archive, "format").item<int64_t>() != kFormat) {
        throw std::runtime_error("unknown checkpoint format");
      }
      archive.read("model", model);
      archive.read("optimizer", optimizer);
      ObsNormalizer::State norm{Read(archive, "normalizer_mean").cpu(),
                                Read(archive, "normalizer_var").cpu(),
                                Read(archive, "normalizer_count").item<double>()};
      TrainingState state;
      state.version = static_cast<uint64_t>(Read(archive, "version").item<int64_t>());
      state.env_steps = static_cast<uint64_t>(Read(archive, "env_steps").item<int64_t>());
      state.run = TensorString(Read(archive, "run"));
      const double lr = Read(archive, "lr").item<double>();
      trainer->model()->load(model);
      trainer->optimizer().load(optimizer);
      trainer->normalizer().Load(norm);
      trainer->set_lr(lr);
      spdlog::info("resumed from {}: version {}, run {}, lr {:.3g}", path, state.version, state.run,
                   lr);
      return state;
    } catch (const std::exception& e) {
      spdlog::error("checkpoint {} is unreadable ({}); trying the previous one", path,
                    std::string(e.what()).substr(0, 200));
    }
  }
  return std::nullopt;
}

}  // namespace hoverslam::learner
