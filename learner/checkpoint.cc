#include "learner/checkpoint.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "common/files.h"

namespace hoverslam::learner {
namespace fs = std::filesystem;
namespace {

// 2: the file ends in the checksum trailer. Files of format 1 (no trailer) still load.
constexpr int64_t kFormat = 2;
constexpr int64_t kUnsealedFormat = 1;
constexpr const char* kPrefix = "ckpt-";
constexpr const char* kSuffix = ".pt";
constexpr const char* kFloorFile = "version-floor";
constexpr const char* kTempSuffix = ".tmp";  // WriteFileAtomic's temp file

// Trailer: magic, then the archive's length and BLAKE2b-256 digest.
constexpr char kMagic[8] = {'h', 's', 'c', 'k', 'p', 't', '\0', '\2'};
constexpr size_t kDigestBytes = crypto_generichash_BYTES;  // 32
constexpr size_t kTrailerBytes = sizeof(kMagic) + 8 + kDigestBytes;
static_assert(kDigestBytes == 32, "BLAKE2b-256");

std::string CheckpointName(uint64_t version) {
  char name[40];
  std::snprintf(name, sizeof(name), "%s%012llu%s", kPrefix,
                static_cast<unsigned long long>(version), kSuffix);
  return name;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

std::string Digest(std::string_view bytes) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  std::string digest(kDigestBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(digest.data()), digest.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr,
                     0);
  return digest;
}

// Appends the trailer to an archive's bytes.
void Seal(std::string* bytes) {
  const uint64_t size = bytes->size();
  const std::string digest = Digest(*bytes);
  bytes->append(kMagic, sizeof(kMagic));
  for (int i = 0; i < 8; ++i) bytes->push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  bytes->append(digest);
}

// The archive in a file's bytes. A file without the magic at its end is taken whole
// (`sealed` false: format 1, or a torn file that the archive's format check refuses); one
// with the magic must match its length and digest, else this throws.
std::string_view Unseal(const std::string& bytes, bool* sealed) {
  *sealed = bytes.size() >= kTrailerBytes &&
            std::memcmp(bytes.data() + bytes.size() - kTrailerBytes, kMagic, sizeof(kMagic)) == 0;
  if (!*sealed) return bytes;
  const size_t payload = bytes.size() - kTrailerBytes;
  const char* trailer = bytes.data() + payload + sizeof(kMagic);
  uint64_t size = 0;
  for (int i = 0; i < 8; ++i) size |= uint64_t{static_cast<unsigned char>(trailer[i])} << (8 * i);
  if (size != payload) throw std::runtime_error("length in the trailer does not match the file");
  const std::string_view archive(bytes.data(), payload);
  if (Digest(archive) != std::string_view(trailer + 8, kDigestBytes)) {
    throw std::runtime_error("checksum mismatch: the file is damaged");
  }
  return archive;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read");
  return bytes;
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

// Module::load takes a tensor of any shape, and one of another dtype it copies in bit for bit
// under the parameter's own dtype (float64 in a file gives finite garbage in float32): check
// the file's parameters, `module`'s own and its children's, before loading them.
void CheckParameters(torch::serialize::InputArchive& archive, const torch::nn::Module& module,
                     const std::string& prefix) {
  for (const auto& item : module.named_parameters(/*recurse=*/false)) {
    const torch::Tensor saved = Read(archive, item.key());
    if (saved.scalar_type() != item.value().scalar_type()) {
      throw std::runtime_error("parameter " + prefix + item.key() + " is " +
                               std::string(c10::toString(saved.scalar_type())) + ", not " +
                               c10::toString(item.value().scalar_type()));
    }
    if (saved.sizes() != item.value().sizes()) {
      throw std::runtime_error("a model of other dims or sizes");
    }
  }
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive child_archive;
    archive.read(child.key(), child_archive);
    CheckParameters(child_archive, *child.value(), prefix + child.key() + ".");
  }
}

// Adam::load takes moments of any shape, dtype and device and any step count; the next
// step then throws on them (or divides by 1 - beta^0 = 0 after a negative step).
void CheckAdamState(Trainer& trainer) {
  const auto& state = trainer.optimizer().state();
  for (const auto& item : trainer.model()->named_parameters()) {
    const torch::Tensor& p = item.value();
    const auto it = state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
    if (it == state.end()) continue;  // Adam starts it at the first step
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
    const auto fits = [&p](const torch::Tensor& t) {
      return t.defined() && t.sizes() == p.sizes() && t.scalar_type() == p.scalar_type() &&
             t.device() == p.device();
    };
    if (!fits(s.exp_avg()) || !fits(s.exp_avg_sq()) ||
        (s.max_exp_avg_sq().defined() && !fits(s.max_exp_avg_sq()))) {
      throw std::runtime_error("Adam's moments of " + item.key() +
                               " do not fit it (other sizes, dtype or device)");
    }
    if (s.step() < 0) {
      throw std::runtime_error("Adam's step count of " + item.key() + " is " +
                               std::to_string(s.step()));
    }
  }
}

// Loads one checkpoint file into `trainer`; throws, leaving it partly loaded, on any fault.
TrainingState Load(const std::string& path, Trainer* trainer, const std::string& env) {
  const std::string bytes = ReadWholeFile(path);
  bool sealed = false;
  const std::string_view payload = Unseal(bytes, &sealed);
  if (!sealed) spdlog::warn("{} has no checksum trailer: a format-1 file, or a torn one", path);
  torch::serialize::InputArchive archive, model, optimizer;
  archive.load_from(payload.data(), payload.size(), trainer->device());
  const int64_t format = Read(archive, "format").item<int64_t>();
  if (format != (sealed ? kFormat : kUnsealedFormat)) {
    throw std::runtime_error(sealed || format != kFormat ? "unknown checkpoint format"
                                                         : "its checksum trailer is missing");
  }
  TrainingState state;
  if (torch::Tensor saved_env; archive.try_read("env", saved_env)) {
    state.env = TensorString(saved_env);
  }
  if (state.env != env) {
    throw CheckpointEnvMismatch(path + " is a checkpoint of env '" + state.env +
                                "', and this learner trains '" + env +
                                "' (--env): use another --checkpoint-dir, or the same --env");
  }
  archive.read("model", model);
  archive.read("optimizer", optimizer);
  ObsNormalizer::State norm{Read(archive, "normalizer_mean").cpu(),
                            Read(archive, "normalizer_var").cpu(),
                            Read(archive, "normalizer_count").item<double>()};
  state.version = static_cast<uint64_t>(Read(archive, "version").item<int64_t>());
  state.env_steps = static_cast<uint64_t>(Read(archive, "env_steps").item<int64_t>());
  state.run = TensorString(Read(archive, "run"));
  const double lr = Read(archive, "lr").item<double>();
  CheckParameters(model, *trainer->model(), "");
  trainer->model()->load(model);
  trainer->optimizer().load(optimizer);
  CheckAdamState(*trainer);
  trainer->normalizer().Load(norm);
  trainer->set_lr(lr);
  if (std::optional<std::string> problem = trainer->Problem()) throw std::runtime_error(*problem);
  return state;
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
  archive.write("env", StringTensor(state.env));
  archive.write("format", torch::tensor(kFormat));

  std::ostringstream stream;
  archive.save_to(stream);
  std::string bytes = stream.str();
  Seal(&bytes);
  const std::string path = (fs::path(dir) / CheckpointName(state.version)).string();
  WriteFileAtomic(path, bytes);  // readers see the old file or the whole new one

  std::vector<char> policy;
  wire::Encode(trainer.Export(state.version, state.run, state.env), &policy);
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
    if (e.is_regular_file() && name.rfind(kPrefix, 0) == 0 && EndsWith(name, kSuffix)) {
      found.push_back(e.path().string());
    }
  }
  // Zero-padded versions: name order is version order.
  std::sort(found.rbegin(), found.rend());
  return found;
}

void RemoveTempFiles(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, error)) {
    const std::string name = e.path().filename().string();
    const bool ours =
        (name.rfind(kPrefix, 0) == 0 && EndsWith(name, std::string(kSuffix) + kTempSuffix)) ||
        name == std::string("policy.msgpack") + kTempSuffix ||
        name == std::string(kFloorFile) + kTempSuffix;
    if (ours && e.is_regular_file(error) && fs::remove(e.path(), error)) {
      spdlog::warn("removed {}, left by an interrupted write", e.path().string());
    }
  }
}

std::optional<TrainingState> LoadNewestCheckpoint(const std::string& dir, Trainer* trainer,
                                                  const std::string& env) {
  RemoveTempFiles(dir);
  const TrainerSnapshot before = trainer->Snapshot();
  for (const std::string& path : ListCheckpoints(dir)) {
    try {
      const TrainingState state = Load(path, trainer, env);
      spdlog::info("resumed from {}: version {}, run {}, lr {:.3g}", path, state.version, state.run,
                   trainer->lr());
      return state;
    } catch (const CheckpointEnvMismatch&) {
      trainer->Restore(before);
      throw;
    } catch (const std::exception& e) {
      trainer->Restore(before);
      spdlog::error("checkpoint {} is refused ({}); trying the previous one", path,
                    std::string(e.what()).substr(0, 200));
    }
  }
  return std::nullopt;
}

VersionFloor::VersionFloor(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  const std::string path = (fs::path(dir_) / kFloorFile).string();
  if (!fs::exists(path)) return;
  std::string text;
  try {
    text = ReadWholeFile(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read " + path + ": " + e.what());
  }
  // Written whole by WriteFileAtomic: anything but digits and a newline is damage.
  const bool digits = text.size() >= 2 && text.size() <= 21 && text.back() == '\n' &&
                      text.find_first_not_of("0123456789") == text.size() - 1;
  try {
    if (digits) floor_ = std::stoull(text);
  } catch (const std::out_of_range&) {
    floor_ = 0;
  }
  if (!digits || floor_ == 0) {
    throw std::runtime_error(path + " does not hold a version number; write one above the " +
                             "highest version this run ever published (or remove it if none " +
                             "was)");
  }
}

uint64_t VersionFloor::Resume(std::optional<uint64_t> checkpoint_version) const {
  if (!checkpoint_version) return floor_;
  if (*checkpoint_version + 1 == floor_) return *checkpoint_version;
  return std::max(*checkpoint_version, floor_);
}

void VersionFloor::Reserve(uint64_t version) {
  if (dir_.empty() || version < floor_) return;
  Write(version + kBlock);
}

void VersionFloor::Lower(uint64_t version) {
  if (dir_.empty() || version + 1 == floor_) return;
  Write(version + 1);
}

void VersionFloor::Write(uint64_t floor) {
  fs::create_directories(dir_);
  WriteFileAtomic((fs::path(dir_) / kFloorFile).string(), std::to_string(floor) + "\n");
  floor_ = floor;
}

}  // namespace hoverslam::learner
