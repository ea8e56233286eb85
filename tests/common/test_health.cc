// /healthz: 200 while the main loop beats, 503 once it has not for the timeout, and
// what it says; /metrics and unknown paths beside it.
#include <gtest/gtest.h>

#include <string>

#include "common/health.h"
#include "common/metrics.h"
#include "tests/support/process.h"

namespace hoverslam {
namespace {

using testing::FreePort;
using testing::HealthStatus;
using testing::HttpFetch;
using testing::PollUntil;

TEST(Health, ReportSaysHowOldTheLastBeatIs) {
  Heartbeat beat;
  const HealthReport fresh = CheckHealth(beat, 5.0);
  EXPECT_TRUE(fresh.healthy);
  EXPECT_EQ(fresh.text.rfind("ok: main loop last progressed 0.0 s ago (limit 5 s)", 0), 0u)
      << fresh.text;
  // A zero limit is exceeded as soon as any time passes.
  ASSERT_TRUE(PollUntil(1.0, [&] { return beat.SecondsSinceBeat() > 0.01; }));
  const HealthReport stale = CheckHealth(beat, 0.0);
  EXPECT_FALSE(stale.healthy);
  EXPECT_EQ(stale.text.rfind("stalled: ", 0), 0u) << stale.text;
}

TEST(Health, ServedNextToMetricsAndFailsWhenTheLoopStops) {
  const int port = FreePort();
  MetricsServer server(port, /*health_timeout_s=*/0.3);
  server.Counter("hoverslam_test_total", "A counter.").Increment(3);

  ASSERT_TRUE(PollUntil(5.0, [&] { return HealthStatus(port) != 0; }));
  server.heartbeat().Beat();
  EXPECT_EQ(HealthStatus(port), 200);
  // Nobody beats: within a moment past the timeout the probe fails...
  EXPECT_TRUE(PollUntil(5.0, [&] { return HealthStatus(port) == 503; }));
  EXPECT_EQ(HttpFetch(port, "/healthz")->body.rfind("stalled: ", 0), 0u);
  // ...and one beat brings it back.
  server.heartbeat().Beat();
  EXPECT_EQ(HealthStatus(port), 200);

  const auto metrics = HttpFetch(port, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("hoverslam_test_total 3"), std::string::npos);
  EXPECT_EQ(HttpFetch(port, "/elsewhere")->status, 404);
  EXPECT_EQ(HttpFetch(port, "/healthzz")->status, 404);
}

}  // namespace
}  // namespace hoverslam
