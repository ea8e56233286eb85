// Test support: a fake learner's trajectory endpoint. It binds a ROUTER as the learner does,
// answers every ready with a grant (protocol v2 credit flow), and hands what else arrives
// to the caller with the routing id of the connection that sent it. Header-only.
#pragma once

#include <zmq.hpp>

#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/protocol.h"
#include "common/zmq_sockets.h"

namespace hoverslam::testing {

// Not thread-safe: one thread at a time calls Receive (the socket is the sink's).
class GrantingSink {
 public:
  // The grant that answers a ready; nullopt answers nothing (the ready is still counted).
  using GrantFor = std::function<std::optional<wire::Grant>(const wire::Ready&)>;

  struct Message {
    std::string peer;        // routing id of the connection that sent it
    zmq::message_t payload;  // a trajectory, or anything else that is not a valid ready
  };

  // By default a grant echoes the ready's run, env and policy_version: "collect with the
  // weights you hold".
  GrantingSink(zmq::context_t& ctx, const std::string& endpoint, const ZmqConfig& config = {},
               const CurveServer& curve = {})
      : socket_(MakeTrajectoryRouter(ctx, endpoint, config, curve)) {}

  void GrantWith(GrantFor grant_for) { grant_for_ = std::move(grant_for); }
  // Every ready is answered with `grant`.
  void GrantAlways(const wire::Grant& grant) {
    grant_for_ = [grant](const wire::Ready&) { return grant; };
  }

  // The next message that is not a ready, answering readies meanwhile; nullopt when none
  // comes within `timeout_s`.
  std::optional<Message> Receive(double timeout_s) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                          std::chrono::duration<double>(timeout_s));
    for (;;) {
      zmq::message_t id, payload;
      if (socket_.recv(id, zmq::recv_flags::dontwait)) {
        if (!id.more()) continue;  // a ROUTER always prefixes the id
        // The frames of one message arrive together; of a multi-frame one, keep the last.
        do {
          (void)socket_.recv(payload, zmq::recv_flags::none);
        } while (payload.more());
        if (!AnswerReady(id, payload)) return Message{id.to_string(), std::move(payload)};
        continue;
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, left);
    }
  }

  // Sends `grant` to `peer` unasked (to answer a ready that GrantFor left waiting); false
  // when the peer is gone.
  bool Grant(const std::string& peer, const wire::Grant& grant) {
    wire::Encode(grant, &bytes_);
    try {
      socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(bytes_), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;  // ROUTER_MANDATORY: no such connection
      return false;
    }
    ++grants_;
    return true;
  }

  int readies() const { return readies_; }  // valid readies received
  int grants() const { return grants_; }    // grants delivered
  const wire::Ready& last_ready() const { return last_ready_; }
  const std::string& last_ready_peer() const { return last_ready_peer_; }

 private:
  // Grants `payload` if it is a valid ready; false when it is something else.
  bool AnswerReady(const zmq::message_t& id, const zmq::message_t& payload) {
    const wire::DecodeResult r = wire::Decode(payload.data(), payload.size(), wire::Limits{},
                                              wire::Expect{"", ""}, &decoded_);
    if (!r || decoded_.type != wire::ActorMessage::Type::kReady) return false;
    ++readies_;
    last_ready_ = decoded_.ready;
    last_ready_peer_ = id.to_string();
    const std::optional<wire::Grant> grant =
        grant_for_ ? grant_for_(last_ready_)
                   : wire::Grant{last_ready_.run, last_ready_.env, last_ready_.policy_version};
    if (grant) Grant(last_ready_peer_, *grant);
    return true;
  }

  zmq::socket_t socket_;
  GrantFor grant_for_;
  wire::ActorMessage decoded_;  // decode scratch
  wire::Ready last_ready_;
  std::string last_ready_peer_;
  std::vector<char> bytes_;
  int readies_ = 0, grants_ = 0;
};

}  // namespace hoverslam::testing
