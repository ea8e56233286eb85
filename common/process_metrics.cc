#include "common/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace hoverslam {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "btime" of /proc/stat: when the machine booted, in Unix seconds.
std::optional<double> BootTime() {
  std::istringstream in(ReadFile("/proc/stat"));
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

double CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {name, help, type, {metric}};
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second,
                                          double page_bytes, double boot_time_seconds) {
  const size_t comm_end = stat.rfind(')');
  if (comm_end == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  // Field 3 (state) onwards; fields[i] is field i + 3.
  std::istringstream in{std::string(stat.substr(comm_end + 1))};
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() < 22) return std::nullopt;
  const auto field = [&](int number, double* out) {
    char* end = nullptr;
    const std::string& text = fields[static_cast<size_t>(number - 3)];
    *out = std::strtod(text.c_str(), &end);
    return end != text.c_str() && *end == '\0';
  };
  double utime, stime, threads, start_ticks, vsize, rss_pages;
  if (!field(14, &utime) || !field(15, &stime) || !field(20, &threads) ||
      !field(22, &start_ticks) || !field(23, &vsize) || !field(24, &rss_pages)) {
    return std::nullopt;
  }
  ProcessStats s;
  s.cpu_seconds = (utime + stime) / ticks_per_second;
  s.threads = threads;
  s.start_time_seconds = boot_time_seconds + start_ticks / ticks_per_second;
  s.virtual_bytes = vsize;
  s.resident_bytes = rss_pages * page_bytes;
  return s;
}

std::optional<ProcessStats> ReadProcessStats() {
  static const std::optional<double> boot = BootTime();  // fixed while the machine runs
  if (!boot) return std::nullopt;
  std::optional<ProcessStats> s =
      ParseProcStat(ReadFile("/proc/self/stat"), static_cast<double>(::sysconf(_SC_CLK_TCK)),
                    static_cast<double>(::sysconf(_SC_PAGESIZE)), *boot);
  if (!s) return std::nullopt;
  s->open_fds = CountOpenFds();
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0) s->max_fds = static_cast<double>(files.rlim_cur);
  return s;
}

std::vector<prometheus::MetricFamily> ProcessFamilies(const ProcessStats& s) {
  using prometheus::MetricType;
  return {
      Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
             MetricType::Counter, s.cpu_seconds),
      Family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
             s.resident_bytes),
      Family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
             s.virtual_bytes),
      Family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             MetricType::Gauge, s.start_time_seconds),
      Family("process_threads", "Number of OS threads in the process.", MetricType::Gauge,
             s.threads),
      Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, s.open_fds),
      Family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
             s.max_fds),
  };
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  const std::optional<ProcessStats> stats = ReadProcessStats();
  return stats ? ProcessFamilies(*stats) : std::vector<prometheus::MetricFamily>{};
}

}  // namespace hoverslam
