// How an episode ended; shared by the env, the wire protocol and the metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hoverslam {

// kNone while an episode runs; timeout is truncation, the others termination.
enum class Outcome : uint8_t { kNone, kLanded, kCrashed, kOutOfBounds, kTimeout };

// The four outcomes an ended episode can have, in enum order.
constexpr Outcome kEndedOutcomes[] = {Outcome::kLanded, Outcome::kCrashed, Outcome::kOutOfBounds,
                                      Outcome::kTimeout};

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
