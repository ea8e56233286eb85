// /healthz: 200 while the main loop beats, 503 once it has not for the timeout, and
// what it says; /metrics and unknown paths beside it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
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

// Whether a TCP connection to ipv4:port is accepted.
bool Accepts(const char* ipv4, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ipv4, &addr.sin_addr);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// --metrics-bind: the whole of 127/8 is loopback on Linux, so a server bound to 127.0.0.2
// must answer there and refuse 127.0.0.1, where an all-interfaces bind answers both.
TEST(Health, MetricsListenOnlyWhereBound) {
  const int port = FreePort();
  {
    MetricsServer server(port, 5.0, "127.0.0.2");
    EXPECT_TRUE(Accepts("127.0.0.2", port));
    EXPECT_FALSE(Accepts("127.0.0.1", port));
  }
  MetricsServer all(port, 5.0, kAllInterfaces);
  EXPECT_TRUE(Accepts("127.0.0.2", port));
  EXPECT_TRUE(Accepts("127.0.0.1", port));
}

TEST(Health, UnusableBindAddressNamesTheFlag) {
  try {
    MetricsServer server(FreePort(), 5.0, "192.0.2.1");  // TEST-NET-1: no interface has it
    FAIL() << "bound to an address this machine does not have";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("192.0.2.1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--metrics-bind"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hoverslam
