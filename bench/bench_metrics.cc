// What a Prometheus scrape costs a binary: the actor's whole /metrics page (its registry plus
// the process_* metrics read from /proc), the registry alone and the /proc collector alone.
// Prints a table and, as its last line, one JSON object: medians over repeats, the /proc
// collector's share of a scrape, and a scrape's CPU against the PodMonitor's 15 s interval.
#include <prometheus/text_serializer.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "actor/actor_metrics.h"
#include "bench/bench_util.h"
#include "common/build_info.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "common/rocket_env.h"

namespace hoverslam::bench {
namespace {

constexpr double kScrapeIntervalS = 15;  // the PodMonitor's interval

// Median microseconds per call of `body` over `repeats` rounds of `calls`.
template <typename Body>
double MedianMicros(int repeats, int calls, Body&& body) {
  std::vector<double> us;
  size_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    const double t0 = Now();
    for (int i = 0; i < calls; ++i) sink += body();
    us.push_back((Now() - t0) / calls * 1e6);
  }
  if (sink == 42) std::printf(" ");  // keeps the work
  return Median(us);
}

}  // namespace
}  // namespace hoverslam::bench

int main(int argc, char** argv) {
  using namespace hoverslam;
  using namespace hoverslam::bench;
  int repeats = 7, calls = 2000;
  CLI::App app{"bench_metrics: the cost of one /metrics scrape"};
  app.add_option("--repeats", repeats, "rounds (median taken)")->check(CLI::PositiveNumber);
  app.add_option("--calls", calls, "scrapes per round")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  MetricsServer server(0);
  RegisterBuildInfo(server, "actor");
  ActorMetrics metrics(server, RocketSpec(RocketConfig{}));
  metrics.env_steps.Increment(1e6);
  for (int i = 0; i < 1000; ++i) metrics.episode_return.Observe(i % 300 - 150);

  const double page_us = MedianMicros(repeats, calls, [&] { return server.Scrape().size(); });
  const double registry_us = MedianMicros(repeats, calls, [&] {
    return prometheus::TextSerializer().Serialize(server.registry().Collect()).size();
  });
  const ProcessCollector process;
  const double proc_us = MedianMicros(repeats, calls, [&] { return process.Collect().size(); });
  const size_t bytes = server.Scrape().size();
  const double cpu_fraction = page_us * 1e-6 / kScrapeIntervalS;

  std::printf("%-34s %12s\n", "one scrape of the actor's /metrics", "us (median)");
  std::printf("%-34s %12.1f\n", "whole page (registry + /proc)", page_us);
  std::printf("%-34s %12.1f\n", "registry only", registry_us);
  std::printf("%-34s %12.1f\n", "process_* from /proc only", proc_us);
  std::printf("%-34s %12zu\n", "page bytes", bytes);
  std::printf("%-34s %12.2e\n", "CPU share at one scrape per 15 s", cpu_fraction);
  std::printf(
      "{\"bench\": \"metrics\", \"scrape_us\": %.1f, \"registry_us\": %.1f, \"process_us\": %.1f, "
      "\"page_bytes\": %zu, \"ratio_process_vs_scrape\": %.3f, \"cpu_share_at_15s\": %.2e, "
      "\"repeats\": %d, \"calls\": %d}\n",
      page_us, registry_us, proc_us, bytes, proc_us / page_us, cpu_fraction, repeats, calls);
  return 0;
}
