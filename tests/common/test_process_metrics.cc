// The process_* collector over /proc, and hoverslam_build_info: the stat parser against a
// line worked out by hand, then this very process measured before and after it uses CPU,
// memory and file descriptors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <regex>
#include <string>
#include <vector>

#include "common/build_info.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "common/protocol.h"

namespace hoverslam {
namespace {

// Fields 1-24 of proc(5)'s stat, comm with a space and parentheses of its own:
// utime 250 and stime 50 ticks, 7 threads, started 12345 ticks after boot, 1 MiB of
// address space, 256 resident pages.
constexpr char kStat[] =
    "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 12345 "
    "1048576 256 18446744073709551615";

TEST(ProcStat, ParsesFieldsByHand) {
  const std::optional<ProcessStats> s = ParseProcStat(kStat, 100, 4096, 1.7e9);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);  // (250 + 50) / 100
  EXPECT_DOUBLE_EQ(s->threads, 7);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1.7e9 + 123.45);  // boot + 12345 / 100
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 1048576);
  EXPECT_DOUBLE_EQ(s->resident_bytes, 256 * 4096);
}

TEST(ProcStat, RefusesWhatIsNotAStatLine) {
  EXPECT_FALSE(ParseProcStat("", 100, 4096, 0));
  EXPECT_FALSE(ParseProcStat("4242 (proc) S 1 2 3", 100, 4096, 0));  // too few fields
  std::string bad = kStat;
  bad.replace(bad.find(" 250 "), 5, " x50 ");  // utime not a number
  EXPECT_FALSE(ParseProcStat(bad, 100, 4096, 0));
  EXPECT_FALSE(ParseProcStat(kStat, 0, 4096, 0));  // no clock rate
}

double CpuSecondsOfThisProcess() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

TEST(ProcessStats, FollowThisProcess) {
  const std::optional<ProcessStats> before = ReadProcessStats();
  ASSERT_TRUE(before);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(before->start_time_seconds, now + 1);
  EXPECT_GT(before->start_time_seconds, now - 3600);  // this test started just now
  EXPECT_GE(before->threads, 1);
  EXPECT_GT(before->max_fds, 0);

  // Three more descriptors: a pipe's two ends and a file.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const int file = ::open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(file, 0);
  // 64 MiB touched page by page becomes resident.
  std::vector<char> memory(64 << 20);
  for (size_t i = 0; i < memory.size(); i += 4096) memory[i] = static_cast<char>(i);
  // 0.3 s of CPU.
  const double cpu_from = CpuSecondsOfThisProcess();
  volatile double sink = 0;
  while (CpuSecondsOfThisProcess() - cpu_from < 0.3) sink = sink + std::sqrt(sink + 1.0);

  const std::optional<ProcessStats> after = ReadProcessStats();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->open_fds - before->open_fds, 3);
  EXPECT_GE(after->resident_bytes - before->resident_bytes, 60.0 * (1 << 20));
  EXPECT_GE(after->virtual_bytes - before->virtual_bytes, 60.0 * (1 << 20));
  // Clock ticks are 10 ms: allow two of them.
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.28);
  EXPECT_DOUBLE_EQ(after->start_time_seconds, before->start_time_seconds);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ::close(file);
  EXPECT_EQ(memory[4096], static_cast<char>(4096));
}

// The value of a sample line `name value` in exposition text; NaN when absent.
double Sample(const std::string& text, const std::string& name) {
  const std::regex line("(^|\n)" + name + " ([^\n]+)");
  std::smatch m;
  return std::regex_search(text, m, line) ? std::stod(m[2]) : std::nan("");
}

TEST(MetricsServer, EveryScrapeCarriesTheProcessMetrics) {
  MetricsServer server(0);
  const std::string first = server.Scrape();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_start_time_seconds",
                           "process_open_fds", "process_max_fds", "process_threads"}) {
    EXPECT_FALSE(std::isnan(Sample(first, name))) << name << " missing from:\n" << first;
  }
  EXPECT_NE(first.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(first.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  // Read on each scrape, not once.
  const double cpu_from = CpuSecondsOfThisProcess();
  volatile double sink = 0;
  while (CpuSecondsOfThisProcess() - cpu_from < 0.1) sink = sink + std::sqrt(sink + 1.0);
  EXPECT_GT(Sample(server.Scrape(), "process_cpu_seconds_total"),
            Sample(first, "process_cpu_seconds_total"));
}

TEST(BuildInfo, IsOneSeriesNamingTheBinaryAndTheBuild) {
  MetricsServer server(0);
  RegisterBuildInfo(server, "actor");
  const BuildInfo build = ThisBuild();
  EXPECT_EQ(build.version, HOVERSLAM_TEST_PROJECT_VERSION);
  EXPECT_FALSE(build.commit.empty());
  EXPECT_EQ(build.protocol, static_cast<int>(wire::kProtocolVersion));
  const std::string expected = "hoverslam_build_info{binary=\"actor\",commit=\"" + build.commit +
                               "\",protocol=\"" + std::to_string(wire::kProtocolVersion) +
                               "\",version=\"" + build.version + "\"} 1";
  EXPECT_NE(server.Scrape().find(expected), std::string::npos) << server.Scrape();
}

}  // namespace
}  // namespace hoverslam
