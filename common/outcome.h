// How an episode ended; shared by the env, the wire protocol and the metrics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace hoverslam {

// kNone while an episode runs; timeout is truncation, the others termination.
enum class Outcome : uint8_t { kNone, kLanded, kCrashed, kOutOfBounds, kTimeout };

// The four outcomes an ended episode can have, in enum order.
constexpr Outcome kEndedOutcomes[] = {Outcome::kLanded, Outcome::kCrashed, Outcome::kOutOfBounds,
                                      Outcome::kTimeout};

// Slots of an array indexed by Outcome (kNone included): one past the last ended outcome.
constexpr size_t kNumOutcomes =
    static_cast<size_t>(kEndedOutcomes[std::size(kEndedOutcomes) - 1]) + 1;
static_assert(kNumOutcomes == static_cast<size_t>(Outcome::kTimeout) + 1);

// Stable snake_case names: `landed`, `crashed`, `out_of_bounds`, `timeout` (and `none`).
constexpr std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kLanded:
      return "landed";
    case Outcome::kCrashed:
      return "crashed";
    case Outcome::kOutOfBounds:
      return "out_of_bounds";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kNone:
      break;
  }
  return "none";
}

// The ended outcome with this name, or nullopt.
constexpr std::optional<Outcome> OutcomeFromName(std::string_view name) {
  for (Outcome o : kEndedOutcomes) {
    if (OutcomeName(o) == name) return o;
  }
  return std::nullopt;
}

}  // namespace hoverslam
