#include "actor/actor.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

namespace hoverslam {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr int kPollMs = 100;  // bounds how long the loop can miss a stop request

// Runs a ZeroMQ call; a signal (EINTR) counts as "nothing happened", so the
// caller's loop sees the stop flag.
template <typename Call>
auto Interruptible(Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    return {};
  }
}

}  // namespace

Actor::Actor(const ActorConfig& config, MetricsServer& metrics)
    : config_(config),
      metrics_(metrics, FindEnv(config.env_name).spec(EnvOptions{config.env})),
      heartbeat_(metrics.heartbeat()),
      env_(config.env_name, EnvOptions{config.env}, config.num_envs, config.seed),
      ctx_(1),
      trajectory_endpoint_(Endpoint(config.learner, config.trajectory_port)),
      weights_endpoint_(config.weights_endpoint.empty()
                            ? Endpoint(config.learner, config.weights_port)
                            : config.weights_endpoint),
      version_changed_at_(Now()) {
  config_.Validate();
  for (int i = 0; i < config.num_envs; ++i) rngs_.emplace_back(EnvSeed(~config.seed, i));
  // Actors started together would otherwise hand the learner batches of envs all at one
  // point of their episodes: with credit flow a batch is a few short rollouts.
  if (config.decorrelate) env_.DecorrelateTimeLimits(config.seed);
  const CurveClient curve = config_.curve.Load();  // throws naming a bad key file
  if (curve.enabled()) spdlog::info("CURVE on: actor public key {}", curve.public_key);
  dealer_ = std::make_unique<ClientConnection>(
      ctx_, ChannelName(Channel::kTrajectories), trajectory_endpoint_,
      [this, curve](const std::string& endpoint) {
        zmq::socket_t s = MakeTrajectoryDealer(ctx_, endpoint, config_.zmq, curve);
        s.set(zmq::sockopt::sndtimeo, kPollMs);
        return s;
      },
      config_.zmq, HooksFor(Channel::kTrajectories));
  sub_ = std::make_unique<ClientConnection>(
      ctx_, ChannelName(Channel::kWeights), weights_endpoint_,
      [this, curve](const std::string& endpoint) {
        return MakeWeightsSub(ctx_, endpoint, config_.zmq, curve);
      },
      config_.zmq, HooksFor(Channel::kWeights));
  traj_.actor = config.actor_id;
  traj_.env = env_.spec().name;
  traj_.Resize(config.steps_per_message, config.num_envs, env_.obs_dim(), env_.act_dim());
  metrics_.num_envs.Set(config.num_envs);
  metrics_.rollout_transitions.Set(static_cast<double>(traj_.transitions()));
}

Actor::~Actor() {
  // Stopped by a signal: pending trajectories are not worth a slow shutdown, so
  // close at once. Finished (max_messages): let linger_ms flush what is queued.
  if (interrupted_) dealer_->socket().set(zmq::sockopt::linger, 0);
  sub_->socket().set(zmq::sockopt::linger, 0);
}

ClientConnection::Hooks Actor::HooksFor(Channel channel) {
  const int c = static_cast<int>(channel);
  ClientConnection::Hooks hooks;
  hooks.on_failure = [this, c](HandshakeFailure f) {
    metrics_.auth_failures[c][static_cast<int>(f)]->Increment();
  };
  hooks.on_connected = [this, c, channel](bool up) {
    metrics_.connected[c]->Set(up ? 1 : 0);
    if (!up) metrics_.disconnects.Increment();
    if (up && channel == Channel::kTrajectories) ++connects_;
  };
  return hooks;
}

void Actor::Tend() {
  heartbeat_.Beat();
  dealer_->Poll();
  sub_->Poll();
  metrics_.weights_age.Set(Now() - version_changed_at_);
}

uint64_t Actor::Run(const std::atomic<bool>& stop) {
  if (!WaitForFirstWeights(stop)) {
    interrupted_ = true;
    return 0;
  }
  uint64_t sent = 0;
  double last_log = Now();
  while (!stop.load()) {
    Tend();
    if (!AwaitGrant(stop)) break;
    const uint64_t connection = grants_.front().connection;
    grants_.pop_front();
    Collect();
    if (connection != connects_) {
      // The learner went away while we collected: the one that answers now never asked.
      metrics_.rollouts_discarded.Increment();
      continue;
    }
    if (!Send(stop)) break;
    ++sent;
    if (config_.max_messages > 0 && sent >= config_.max_messages) break;
    PollWeights();  // only here, between messages: one message, one policy version
    if (Now() - last_log >= config_.log_interval_s) {
      last_log = Now();
      spdlog::info("sent {} trajectories, {} env steps, policy version {}", sent,
                   metrics_.env_steps.Value(), policy_->version());
    }
  }
  interrupted_ = stop.load();
  spdlog::info("actor {} stopping after {} trajectories", config_.actor_id, sent);
  return sent;
}

bool Actor::WaitForFirstWeights(const std::atomic<bool>& stop) {
  spdlog::info("actor {} waiting for weights from {}", config_.actor_id, weights_endpoint_);
  double last_log = Now();
  while (!stop.load() && !policy_) {
    Tend();
    zmq::pollitem_t item{static_cast<void*>(sub_->socket()), 0, ZMQ_POLLIN, 0};
    Interruptible([&] { return zmq::poll(&item, 1, std::chrono::milliseconds(kPollMs)); });
    PollWeights();
    if (!policy_ && Now() - last_log >= config_.log_interval_s) {
      last_log = Now();
      spdlog::info("still waiting for weights from {}", weights_endpoint_);
    }
  }
  return policy_.has_value();
}

void Actor::PollWeights() {
  zmq::message_t message;
  // CONFLATE keeps at most one queued message: the newest.
  while (Interruptible([&] { return sub_->socket().recv(message, zmq::recv_flags::dontwait); })) {
    Adopt(message);
  }
}

void Actor::Adopt(const zmq::message_t& message) {
  const wire::DecodeResult r = wire::Decode(message.data(), message.size(), wire::Limits{},
                                            wire::Expect{"", env_.spec().name}, &weights_);
  wire::Reject reason = r.reason;
  std::string why = r.message;
  if (r && policy_ && weights_.run == run_ && weights_.policy_version == policy_->version()) {
    return;  // the learner's periodic re-publish of what we already hold
  }
  std::optional<Policy> next;
  if (r) {
    next = Policy::FromWeights(weights_, env_.obs_dim(), env_.act_dim(), &why);
    if (!next) reason = wire::Reject::kShapeMismatch;
  }
  if (!next) {
    metrics_.weights_rejected[static_cast<int>(reason)]->Increment();
    spdlog::warn("rejected weights ({}): {}; keeping version {}", wire::RejectName(reason), why,
                 policy_ ? std::to_string(policy_->version()) : "none");
    return;
  }
  policy_ = std::move(next);
  run_ = weights_.run;
  version_changed_at_ = Now();
  metrics_.weights_received.Increment();
  metrics_.policy_version.Set(static_cast<double>(policy_->version()));
  spdlog::debug("using policy version {} of run {}", policy_->version(), run_);
}

bool Actor::AwaitGrant(const std::atomic<bool>& stop) {
  double mark = Now(), last_log = mark;
  // Time since `mark` goes to idle (no grant yet) or to waiting for the granted weights;
  // booked every loop, so a scrape sees it grow while the actor waits.
  const auto book = [&] {
    const double now = Now();
    (grants_.empty() ? metrics_.idle_seconds : metrics_.weights_wait_seconds).Increment(now - mark);
    mark = now;
  };
  while (!stop.load()) {
    Tend();
    ReceiveGrants();
    DropVoidGrants();
    if (!grants_.empty() && HoldsGrantedWeights()) {
      book();
      return true;
    }
    if (grants_.empty() && (!ready_pending_ || ready_connection_ != connects_)) SendReady();
    zmq::pollitem_t items[] = {{static_cast<void*>(dealer_->socket()), 0, ZMQ_POLLIN, 0},
                               {static_cast<void*>(sub_->socket()), 0, ZMQ_POLLIN, 0}};
    Interruptible([&] { return zmq::poll(items, 2, std::chrono::milliseconds(kPollMs)); });
    book();
    PollWeights();                          // between messages: safe to switch
    if (grants_.empty()) last_log = Now();  // warn only about a long wait for weights
    if (!grants_.empty() && Now() - last_log >= config_.log_interval_s) {
      last_log = Now();
      spdlog::warn("granted version {} of run {}, still holding version {} of run {}",
                   grants_.front().policy_version, grants_.front().run, policy_->version(), run_);
    }
  }
  book();
  return false;
}

bool Actor::HoldsGrantedWeights() const {
  const HeldGrant& g = grants_.front();
  return run_ == g.run && policy_->version() >= g.policy_version;
}

void Actor::SendReady() {
  wire::Ready ready{run_, traj_.env, config_.actor_id, policy_->version(), traj_.transitions()};
  wire::Encode(ready, &bytes_);
  // Blocks up to kPollMs while the learner is away (immediate): then the next loop retries.
  if (Interruptible(
          [&] { return dealer_->socket().send(zmq::buffer(bytes_), zmq::send_flags::none); })) {
    ready_pending_ = true;
    ready_connection_ = connects_;
  }
}

void Actor::ReceiveGrants() {
  zmq::message_t message;
  while (
      Interruptible([&] { return dealer_->socket().recv(message, zmq::recv_flags::dontwait); })) {
    const wire::DecodeResult r = wire::Decode(message.data(), message.size(), wire::Limits{},
                                              wire::Expect{"", traj_.env}, &grant_);
    if (!r) {
      metrics_.grants_rejected[static_cast<int>(r.reason)]->Increment();
      spdlog::warn("rejected a grant ({}): {}", wire::RejectName(r.reason), r.message);
      continue;
    }
    metrics_.grants_received.Increment();
    grants_.push_back({grant_.run, grant_.policy_version, connects_});
    ready_pending_ = false;
  }
}

void Actor::DropVoidGrants() {
  while (!grants_.empty() && grants_.front().connection != connects_) grants_.pop_front();
}

void Actor::Collect() {
  const int n = config_.num_envs, t_max = config_.steps_per_message;
  wire::Trajectory& m = traj_;
  m.run = run_;
  m.policy_version = policy_->version();
  m.final_idx.clear();
  m.final_obs.clear();
  m.episodes.clear();
  const size_t obs_row = size_t(n) * env_.obs_dim(), act_row = size_t(n) * env_.act_dim();
  // obs[0] continues the previous message: the envs are where obs[T] left them.
  std::memcpy(m.obs.data(), env_.obs(), obs_row * sizeof(float));
  double inference = 0, stepping = 0;
  const double start = Now();
  for (int t = 0; t < t_max; ++t) {
    const double t0 = Now();
    policy_->Act(&m.obs[t * obs_row], n, rngs_.data(), false, &m.actions[t * act_row],
                 &m.logp[size_t(t) * n]);
    const double t1 = Now();
    env_.Step(&m.actions[t * act_row]);
    stepping += Now() - t1;
    inference += t1 - t0;
    std::memcpy(&m.rewards[size_t(t) * n], env_.rewards(), n * sizeof(float));
    std::memcpy(&m.terminated[size_t(t) * n], env_.terminated(), n);
    std::memcpy(&m.truncated[size_t(t) * n], env_.truncated(), n);
    std::memcpy(&m.obs[(t + 1) * obs_row], env_.obs(), obs_row * sizeof(float));
    for (const EpisodeInfo& e : env_.finished()) {
      if (e.outcome == Outcome::kTimeout) {
        m.final_idx.push_back(static_cast<uint32_t>(t * n + e.env));
        const float* last = env_.final_obs() + e.env * env_.obs_dim();
        m.final_obs.insert(m.final_obs.end(), last, last + env_.obs_dim());
      }
      m.episodes.push_back({e.episode_return, static_cast<uint32_t>(e.length), e.outcome});
      metrics_.episodes[static_cast<int>(e.outcome)]->Increment();
      metrics_.episode_return.Observe(e.episode_return);
      metrics_.episode_length.Observe(e.length);
    }
  }
  metrics_.collect_seconds.Increment(Now() - start);
  metrics_.env_steps.Increment(static_cast<double>(t_max) * n);
  metrics_.inference_seconds.Increment(inference);
  metrics_.env_step_seconds.Increment(stepping);
}

bool Actor::Send(const std::atomic<bool>& stop) {
  wire::Encode(traj_, &bytes_);
  const double start = Now();
  while (!stop.load()) {
    Tend();
    // Blocks up to kPollMs while the learner is away or its queue is full (the
    // high-water mark bounds memory); then retries, so SIGTERM is seen promptly.
    if (Interruptible(
            [&] { return dealer_->socket().send(zmq::buffer(bytes_), zmq::send_flags::none); })) {
      const double blocked = Now() - start;
      metrics_.send_blocked_seconds.Increment(blocked);
      metrics_.trajectories_sent.Increment();
      metrics_.bytes_sent.Increment(static_cast<double>(bytes_.size()));
      return true;
    }
    if (Now() - last_blocked_log_ >= config_.log_interval_s) {
      last_blocked_log_ = Now();
      spdlog::warn("learner at {} is not taking trajectories (waited {:.1f} s); holding",
                   trajectory_endpoint_, Now() - start);
    }
  }
  return false;
}

}  // namespace hoverslam
