// The labelled families every binary has: one child per rejection reason or per ended
// outcome, resolved once so hot loops only index and increment. Arrays are indexed by
// the enum; slot 0 (Reject::kNone, Outcome::kNone) is unused and null.
#pragma once

#include <array>
#include <string>

#include "common/metrics.h"
#include "common/outcome.h"
#include "common/protocol.h"

namespace hoverslam {

using ReasonCounters = std::array<prometheus::Counter*, wire::kNumRejectReasons>;
using OutcomeCounters = std::array<prometheus::Counter*, kNumOutcomes>;

// `name{reason="..."}` for every rejection reason.
inline ReasonCounters CountersByReason(MetricsServer& m, const std::string& name,
                                       const std::string& help) {
  ReasonCounters counters{};
  for (int i = 1; i < wire::kNumRejectReasons; ++i) {
    counters[i] = &m.Counter(
        name, help, {{"reason", std::string(wire::RejectName(static_cast<wire::Reject>(i)))}});
  }
  return counters;
}

// `name{label="..."}` (plus `labels`) for every value of an enum that ends in kCount,
// named by `name_of`: refusals by reason, for instance. Indexed by the enum.
template <typename Enum, typename NameOf>
std::array<prometheus::Counter*, static_cast<size_t>(Enum::kCount)> CountersByEnum(
    MetricsServer& m, const std::string& name, const std::string& help, const std::string& label,
    NameOf name_of, prometheus::Labels labels = {}) {
  std::array<prometheus::Counter*, static_cast<size_t>(Enum::kCount)> counters{};
  for (size_t i = 0; i < counters.size(); ++i) {
    labels[label] = std::string(name_of(static_cast<Enum>(i)));
    counters[i] = &m.Counter(name, help, labels);
  }
  return counters;
}

// `name{outcome="..."}` for every ended outcome.
inline OutcomeCounters CountersByOutcome(MetricsServer& m, const std::string& name,
                                         const std::string& help) {
  OutcomeCounters counters{};
  for (Outcome o : kEndedOutcomes) {
    counters[static_cast<int>(o)] =
        &m.Counter(name, help, {{"outcome", std::string(OutcomeName(o))}});
  }
  return counters;
}

}  // namespace hoverslam
