// Shared helpers for the benchmarks: timing, medians, peak RSS.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <sys/resource.h>

namespace hoverslam::bench {

inline double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Runs `body` (which returns how many units it did) `repeats` times and returns
// the median units per second.
template <typename Body>
double MedianRate(int repeats, Body&& body) {
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = Now();
    const double units = body();
    rates.push_back(units / (Now() - t0));
  }
  return Median(rates);
}

inline double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace hoverslam::bench
