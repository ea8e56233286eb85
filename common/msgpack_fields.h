// Bounded, typed access to the fields of a msgpack map: the building blocks of
// the wire decoder (common/protocol.cc). Internal to the protocol library.
#pragma once

#include <msgpack.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/protocol.h"

namespace hoverslam::wire {

// Branch-free check that vectorises: a float is finite unless its exponent is all ones.
inline bool AllFinite(const float* v, size_t n) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], sizeof(bits));
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

// The string-keyed entries of one msgpack map. Not thread-safe; cheap to build.
class Fields {
 public:
  static constexpr uint32_t kMaxEntries = 64;

  // Fails (bad_type) unless `object` is a map; a duplicate key is malformed.
  DecodeResult Parse(const msgpack::object& object, std::string_view what) {
    if (object.type != msgpack::type::MAP) {
      return {Reject::kBadType, std::string(what) + " is not a map"};
    }
    entries_.clear();
    const msgpack::object_map& map = object.via.map;
    for (uint32_t i = 0; i < map.size; ++i) {
      const msgpack::object& key = map.ptr[i].key;
      if (key.type != msgpack::type::STR) continue;  // not ours: ignored like any unknown key
      const std::string_view name(key.via.str.ptr, key.via.str.size);
      if (Find(name) != nullptr)
        return {Reject::kMalformed, "duplicate key '" + std::string(name) + "'"};
      entries_.emplace_back(name, &map.ptr[i].val);
    }
    return {};
  }

  DecodeResult Uint(std::string_view key, uint64_t* out) const {
    const msgpack::object* o = nullptr;
    if (auto r = Get(key, msgpack::type::POSITIVE_INTEGER, &o); !r) return r;
    *out = o->via.u64;
    return {};
  }

  template <typename T>
  DecodeResult Uint(std::string_view key, T* out) const {
    uint64_t v = 0;
    if (auto r = Uint(key, &v); !r) return r;
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return {Reject::kBadType, std::string(key) + " out of range"};
    }
    *out = static_cast<T>(v);
    return {};
  }

  DecodeResult Str(std::string_view key, uint32_t max_bytes, std::string_view* out) const {
    const msgpack::object* o = nullptr;
    if (auto r = Get(key, msgpack::type::STR, &o); !r) return r;
    if (o->via.str.size > max_bytes) return {Reject::kTooLarge, std::string(key) + " too long"};
    *out = std::string_view(o->via.str.ptr, o->via.str.size);
    return {};
  }

  // A float field; integers are accepted too (some encoders write 0.0 as 0).
  DecodeResult Float(std::string_view key, float* out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr) return {Reject::kMissingKey, std::string(key)};
    switch (o->type) {
      case msgpack::type::FLOAT32:
      case msgpack::type::FLOAT64:
        *out = static_cast<float>(o->via.f64);
        return {};
      case msgpack::type::POSITIVE_INTEGER:
        *out = static_cast<float>(o->via.u64);
        return {};
      case msgpack::type::NEGATIVE_INTEGER:
        *out = static_cast<float>(o->via.i64);
        return {};
      default:
        return {Reject::kBadType, std::string(key) + " is not a number"};
    }
  }

  DecodeResult Array(std::string_view key, const msgpack::object** out) const {
    return Get(key, msgpack::type::ARRAY, out);
  }

  // A bin of exactly `count` values of T.
  template <typename T>
  DecodeResult Bin(std::string_view key, uint64_t count, std::vector<T>* out) const {
    const msgpack::object* o = nullptr;
    if (auto r = Get(key, msgpack::type::BIN, &o); !r) return r;
    if (o->via.bin.size != count * sizeof(T)) {
      return {Reject::kShapeMismatch, std::string(key) + " has " + std::to_string(o->via.bin.size) +
                                          " bytes, shape says " +
                                          std::to_string(count * sizeof(T))};
    }
    out->resize(count);
    if (count > 0) std::memcpy(out->data(), o->via.bin.ptr, count * sizeof(T));
    return {};
  }

  // A bin of at most `max_count` values of T, its length a whole number of values.
  template <typename T>
  DecodeResult BinAnyLength(std::string_view key, uint64_t max_count, std::vector<T>* out) const {
    const msgpack::object* o = nullptr;
    if (auto r = Get(key, msgpack::type::BIN, &o); !r) return r;
    const uint64_t bytes = o->via.bin.size;
    if (bytes % sizeof(T) != 0 || bytes / sizeof(T) > max_count) {
      return {Reject::kShapeMismatch,
              std::string(key) + " has " + std::to_string(bytes) + " bytes"};
    }
    return Bin(key, bytes / sizeof(T), out);
  }

 private:
  const msgpack::object* Find(std::string_view key) const {
    for (const auto& [name, value] : entries_) {
      if (name == key) return value;
    }
    return nullptr;
  }

  DecodeResult Get(std::string_view key, msgpack::type::object_type type,
                   const msgpack::object** out) const {
    const msgpack::object* o = Find(key);
    if (o == nullptr) return {Reject::kMissingKey, std::string(key)};
    if (o->type != type) return {Reject::kBadType, std::string(key) + " has the wrong type"};
    *out = o;
    return {};
  }

  std::vector<std::pair<std::string_view, const msgpack::object*>> entries_;
};

// One unpacked message: its msgpack tree (strings and bins point into the
// caller's buffer, never copied) and the fields of its top-level map.
class Message {
 public:
  DecodeResult Unpack(const void* data, size_t size, const Limits& limits) {
    if (size > limits.max_message_bytes) return {Reject::kTooLarge, "message too large"};
    // Bounds every count before msgpack allocates for it. Depth 8 leaves room for
    // unknown nested keys; the protocol itself nests 3 deep.
    const size_t max_array = std::max<size_t>(limits.max_episodes, limits.max_layers);
    const msgpack::unpack_limit bounds(max_array, Fields::kMaxEntries, size, size, size, 8);
    size_t offset = 0;
    msgpack::unpack(handle_, static_cast<const char*>(data), size, offset, &ReferenceAll, nullptr,
                    bounds);
    if (offset != size) return {Reject::kMalformed, "trailing bytes after the message"};
    if (handle_.get().type != msgpack::type::MAP) {
      return {Reject::kMalformed, "message is not a msgpack map"};
    }
    return fields_.Parse(handle_.get(), "message");
  }

  const Fields& fields() const { return fields_; }

 private:
  static bool ReferenceAll(msgpack::type::object_type, size_t, void*) { return true; }

  msgpack::object_handle handle_;
  Fields fields_;
};

}  // namespace hoverslam::wire
