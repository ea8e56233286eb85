#include "learner/credits.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hoverslam::learner {
namespace {

using Peers = std::vector<std::string>;

Credits::Options Target(uint64_t transitions, double timeout_s = 10) {
  Credits::Options o;
  o.target_transitions = transitions;
  o.grant_timeout_s = timeout_s;
  return o;
}

// Target 4096 and rollouts of 1024: four grants, whatever the number of idle actors.
TEST(Credits, AsksForOneBatchWhateverTheNumberOfActors) {
  Credits c(Target(4096));
  for (int i = 0; i < 32; ++i) c.Ready("a" + std::to_string(i), 1024, 0);
  EXPECT_EQ(c.Grants(0), (Peers{"a0", "a1", "a2", "a3"}));  // longest idle first
  EXPECT_EQ(c.in_flight(), 4u);
  EXPECT_EQ(c.coming(), 4096u);
  EXPECT_EQ(c.ready(), 28u);
  EXPECT_TRUE(c.Grants(1).empty());  // a batch is coming: nobody else is asked
}

// Data that arrived but is not trained yet counts like data that is coming.
TEST(Credits, BufferedDataHoldsBackGrantsUntilTrainingTakesIt) {
  Credits c(Target(4096));
  for (const char* p : {"a", "b", "c", "d", "e"}) c.Ready(p, 1024, 0);
  ASSERT_EQ(c.Grants(0).size(), 4u);
  for (const char* p : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(c.Answer(p, 1));
    c.Buffered(1024);
  }
  EXPECT_EQ(c.coming(), 0u);
  EXPECT_EQ(c.buffered(), 4096u);
  EXPECT_TRUE(c.Grants(1).empty());  // 0 coming + 4096 buffered = the target
  c.Consumed(4096);                  // training took the batch
  EXPECT_EQ(c.Grants(2), Peers{"e"});
}

// 4096 wanted from rollouts of 3000: the second grant overshoots to 6000, the third is
// never made (every grant is a whole rollout).
TEST(Credits, WholeRolloutsMayOvershootTheTarget) {
  Credits c(Target(4096));
  for (const char* p : {"a", "b", "c"}) c.Ready(p, 3000, 0);
  EXPECT_EQ(c.Grants(0), (Peers{"a", "b"}));
  EXPECT_EQ(c.coming(), 6000u);
}

TEST(Credits, ATrajectoryWithoutAGrantIsNoCredit) {
  Credits c(Target(4096));
  EXPECT_FALSE(c.Answer("stranger", 0));
  c.Ready("a", 1024, 0);
  EXPECT_FALSE(c.Answer("a", 0));  // ready is not a grant
  ASSERT_EQ(c.Grants(0), Peers{"a"});
  EXPECT_TRUE(c.Answer("a", 1));
  EXPECT_FALSE(c.Answer("a", 1));  // one grant, one trajectory
}

// A ready sent before our grant reached the actor must not earn it a second grant.
TEST(Credits, AReadyFromAPeerThatOwesARolloutIsIgnored) {
  Credits c(Target(1 << 20));
  c.Ready("a", 1024, 0);
  ASSERT_EQ(c.Grants(0), Peers{"a"});
  c.Ready("a", 1024, 0.1);
  EXPECT_EQ(c.ready(), 0u);
  EXPECT_TRUE(c.Grants(0.2).empty());
  c.Ready("a", 1024, 0.3);
  c.Ready("a", 1024, 0.3);  // repeated: waits once
  EXPECT_EQ(c.ready(), 0u);
  ASSERT_TRUE(c.Answer("a", 0.4));
  c.Ready("a", 1024, 0.5);
  c.Ready("a", 1024, 0.6);
  EXPECT_EQ(c.ready(), 1u);
}

// Timeout 10 s: a grant made at t = 0 stops counting as coming after t = 10, so another actor
// is asked; the late answer is still accepted (its data is real) without going negative.
TEST(Credits, AnExpiredGrantIsAskedOfAnotherActorAndALateAnswerStillCounts) {
  Credits c(Target(1024, 10));
  c.Ready("slow", 1024, 0);
  ASSERT_EQ(c.Grants(0), Peers{"slow"});
  c.Ready("spare", 1024, 1);
  EXPECT_TRUE(c.Grants(10).empty());  // 10 s is not yet more than the timeout
  EXPECT_EQ(c.Grants(10.5), Peers{"spare"});
  EXPECT_EQ(c.expired_total(), 1u);
  EXPECT_EQ(c.in_flight(), 1u);
  EXPECT_EQ(c.coming(), 1024u);       // only the spare's
  EXPECT_TRUE(c.Answer("slow", 11));  // late, but granted
  EXPECT_EQ(c.in_flight(), 1u);       // the spare's grant is still coming
  EXPECT_EQ(c.coming(), 1024u);
  EXPECT_TRUE(c.Answer("spare", 11));
  EXPECT_EQ(c.in_flight(), 0u);
  EXPECT_EQ(c.coming(), 0u);
}

// Two grants to one peer, the first expired: answers settle them in order.
TEST(Credits, AnswersSettleGrantsOldestFirst) {
  Credits c(Target(1 << 20, 10));
  c.Ready("a", 100, 0);
  ASSERT_EQ(c.Grants(0), Peers{"a"});
  ASSERT_TRUE(c.Grants(20).empty());  // the first grant expired
  EXPECT_EQ(c.coming(), 0u);
  EXPECT_TRUE(c.Answer("a", 21));  // settles the expired one
  c.Ready("a", 100, 21);
  ASSERT_EQ(c.Grants(21), Peers{"a"});
  EXPECT_EQ(c.coming(), 100u);
  EXPECT_TRUE(c.Answer("a", 22));
  EXPECT_EQ(c.coming(), 0u);
  EXPECT_EQ(c.in_flight(), 0u);
}

TEST(Credits, AnUndeliverableGrantForgetsThePeer) {
  Credits c(Target(2048));
  c.Ready("gone", 1024, 0);
  c.Ready("b", 1024, 0);
  c.Ready("c", 1024, 0);
  ASSERT_EQ(c.Grants(0), (Peers{"gone", "b"}));
  c.Undeliverable("gone");
  EXPECT_EQ(c.coming(), 1024u);
  EXPECT_EQ(c.in_flight(), 1u);
  EXPECT_EQ(c.Grants(0), Peers{"c"});
  EXPECT_FALSE(c.Answer("gone", 1));
}

TEST(Credits, ConsumingMoreThanBufferedStopsAtZero) {
  Credits c(Target(1024));
  c.Buffered(100);
  c.Consumed(500);  // stale data dropped after a restart of the count: never wraps around
  EXPECT_EQ(c.buffered(), 0u);
}

}  // namespace
}  // namespace hoverslam::learner

namespace hoverslam::learner {
namespace {

// The actor spent its grant on a trajectory the learner refused before counting it (say,
// a NaN reward), then said ready once: after the grant expires it is asked again.
TEST(Credits, AnActorWhoseAnswerWasRefusedIsAskedAgainAfterTheTimeout) {
  Credits c(Target(1024, 10));
  c.Ready("a", 1024, 0);
  ASSERT_EQ(c.Grants(0), Peers{"a"});
  c.Ready("a", 1024, 1);                  // owes the refused rollout: deferred
  EXPECT_TRUE(c.Grants(5).empty());       // the grant still counts as coming
  EXPECT_EQ(c.Grants(10.5), Peers{"a"});  // expired: the deferred ready is served
  EXPECT_TRUE(c.Answer("a", 11));
  EXPECT_FALSE(c.Answer("a", 11));
}

}  // namespace
}  // namespace hoverslam::learner
