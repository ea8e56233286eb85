// The weights publisher over a real socket with the actors' subscriber: every new version
// reaches a connected actor, the one published just before the publisher stops (the
// learner's last, at --max-versions) included.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/metrics.h"
#include "common/rocket_env.h"
#include "common/zmq_sockets.h"
#include "learner/publisher.h"
#include "tests/support/process.h"

namespace hoverslam::learner {
namespace {

std::vector<char> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

// A publisher and a subscribed actor socket, past the subscription handshake (PUB drops
// everything until it is through).
struct Channel {
  zmq::context_t ctx{1};
  MetricsServer server{0};
  LearnerMetrics metrics{server, 4, RocketSpec(RocketConfig{})};
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(testing::FreePort());
  // Re-publishes only every 100 s: what arrives is each publish itself.
  std::unique_ptr<Publisher> publisher =
      std::make_unique<Publisher>(ctx, endpoint, ZmqConfig{}, 100.0, &metrics);
  zmq::socket_t sub = MakeWeightsSub(ctx, endpoint, ZmqConfig{});

  Channel() {
    sub.set(zmq::sockopt::rcvtimeo, 100);
    zmq::message_t got;
    for (int tries = 0; tries < 100; ++tries) {
      publisher->Publish(Bytes("hello"));
      if (sub.recv(got) && got.to_string() == "hello") return;
    }
    ADD_FAILURE() << "the subscription never came through";
  }

  // The newest message within the receive timeout; "" when none came.
  std::string Receive() {
    std::string newest;
    zmq::message_t got;
    while (sub.recv(got)) newest = got.to_string();
    return newest;
  }
};

TEST(Publisher, EveryNewVersionArrives) {
  Channel c;
  c.sub.set(zmq::sockopt::rcvtimeo, 300);
  for (int v = 1; v <= 5; ++v) {
    c.publisher->Publish(Bytes("v" + std::to_string(v)));
    EXPECT_EQ(c.Receive(), "v" + std::to_string(v));
  }
}

TEST(Publisher, TheLastVersionIsSentWhenStoppingRightAfterIt) {
  for (int run = 0; run < 5; ++run) {
    Channel c;
    c.publisher->Publish(Bytes("last"));
    c.publisher.reset();  // at once, as the learner does after its last version
    c.sub.set(zmq::sockopt::rcvtimeo, 500);
    EXPECT_EQ(c.Receive(), "last") << "run " << run;
  }
}

}  // namespace
}  // namespace hoverslam::learner
