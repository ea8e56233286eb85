// The standard process metrics every Prometheus client library exports
// (process_cpu_seconds_total, process_resident_memory_bytes, ...), read from /proc on
// each scrape. prometheus-cpp has no process collector, and dashboards and alerts want
// CPU and memory per pod from the process itself, not from a node agent.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string_view>
#include <vector>

namespace hoverslam {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system
  double resident_bytes = 0;      // RSS
  double virtual_bytes = 0;       // address space
  double start_time_seconds = 0;  // Unix time the process started
  double threads = 0;
  double open_fds = 0;
  double max_fds = 0;  // soft limit on open files
};

// The fields of /proc/<pid>/stat (proc(5)): utime and stime in clock ticks (14, 15),
// num_threads (20), starttime in ticks after boot (22), vsize in bytes (23) and rss in
// pages (24). `comm` (2) may hold spaces and parentheses, so fields are counted from
// the last ')'. nullopt when the text is not a stat line.
std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second,
                                          double page_bytes, double boot_time_seconds);

// This process, now; nullopt where /proc cannot be read (not Linux).
std::optional<ProcessStats> ReadProcessStats();

// The families a scrape shows for `stats`.
std::vector<prometheus::MetricFamily> ProcessFamilies(const ProcessStats& stats);

// Thread-safe (reads /proc only). A prometheus-cpp collectable: MetricsServer adds it to
// every scrape.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace hoverslam
