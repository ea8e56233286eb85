// Small, fast, fully specified random numbers: the same seed gives the same
// bits on every platform and standard library (std:: distributions do not).
#pragma once

#include <cstdint>
#include <string_view>

namespace hoverslam {

// SplitMix64 step: a good 64-bit mix, used both to derive seeds and as the generator.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Seed of env `index` of an actor seeded with `seed`: independent streams per env.
inline uint64_t EnvSeed(uint64_t seed, uint64_t index) {
  uint64_t s = seed;
  uint64_t a = SplitMix64(s);
  uint64_t t = a ^ (index * 0xD1B54A32D192ED03ull);
  return SplitMix64(t);
}

// A seed from a stable id (a pod name): replicas of one Deployment share their flags,
// and this keeps their episodes apart. FNV-1a, then a SplitMix64 mix.
inline uint64_t SeedFromId(std::string_view id) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : id) h = (h ^ c) * 0x100000001B3ull;
  return SplitMix64(h);
}

// Not thread-safe; one per env.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t NextU64() { return SplitMix64(state_); }
  // Uniform in [0, 1) with 24 bits, exactly representable as float.
  float Uniform() { return static_cast<float>(NextU64() >> 40) * (1.0f / 16777216.0f); }
  // Uniform in [lo, hi).
  float Uniform(float lo, float hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box-Muller): each transform yields two values, the second is
  // kept for the next call.
  float Normal();

 private:
  uint64_t state_;
  float spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace hoverslam
