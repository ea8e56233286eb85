// The actor's policy: the learner's MLP and Gaussian head, evaluated in Eigen
// (no LibTorch on actors). Built from a wire::Weights message.
//
//   x    = clip((obs - obs_mean) / sqrt(obs_var + 1e-8), -obs_clip, obs_clip)
//   mu   = L_k(act(L_{k-1}(... act(L_1(x))))), L_i(h) = W_i h + b_i, act in {tanh, elu, relu}
//   a    = mu + exp(log_std) * eps,  eps ~ N(0, I)          (raw sample, not clipped)
//   logp = sum_j -0.5 ((a_j - mu_j) / sigma_j)^2 - log_std_j - 0.5 log(2 pi)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol.h"
#include "common/rng.h"

namespace hoverslam {

// Not thread-safe: every call writes internal scratch buffers. Use one per thread
// (copies are independent).
class Policy {
 public:
  // The policy for `weights`, or nullopt with a reason in `*why` (if not null) when
  // the weights do not fit the env's dims, the layer chain is inconsistent, a buffer
  // has the wrong size, or a number is non-finite. Trusts nothing the decoder checked.
  static std::optional<Policy> FromWeights(const wire::Weights& weights, int expect_obs_dim,
                                           int expect_act_dim, std::string* why);

  // Samples one action per env. obs [n, obs_dim] and actions [n, act_dim] row-major,
  // logp [n]. rngs[i] (n of them, one per env) draws env i's noise, act_dim normals
  // in order, so an env's stream does not depend on the batch it is in. When
  // `deterministic`, actions are the mean, logp is that of the mean, and rngs is
  // not touched (it may be null). Allocates only when n exceeds every earlier n.
  void Act(const float* obs, int n, Rng* rngs, bool deterministic, float* actions, float* logp);

  // The Gaussian mean mu [n, act_dim] for obs [n, obs_dim].
  void Mean(const float* obs, int n, float* mean);

  // Recomputes logp [n] of given raw actions [n, act_dim], bit-identical to what Act
  // returned for them (the actor's self-check).
  void LogProb(const float* obs, const float* actions, int n, float* logp);

  // log N(action; mean, exp(log_std)^2) summed over `act_dim` dims. Act uses it.
  static float GaussianLogProb(const float* mean, const float* log_std, const float* action,
                               int act_dim);

  uint64_t version() const { return version_; }
  int obs_dim() const { return obs_dim_; }
  int act_dim() const { return act_dim_; }
  wire::Activation activation() const { return activation_; }
  const std::vector<float>& log_std() const { return log_std_; }

 private:
  struct Dense {
    int in = 0, out = 0;
    std::vector<float> w;  // [out, in] row-major, as on the wire
    std::vector<float> b;  // [out]
  };

  Policy() = default;
  // Runs normalisation and the MLP on n envs; returns mu, laid out [n, act_dim].
  const float* Forward(const float* obs, int n);
  void Reserve(int n);

  uint64_t version_ = 0;
  int obs_dim_ = 0, act_dim_ = 0;
  wire::Activation activation_ = wire::Activation::kTanh;
  std::vector<Dense> layers_;
  std::vector<float> log_std_;   // [A]
  std::vector<float> sigma_;     // [A] exp(log_std)
  std::vector<float> obs_mean_;  // [D]
  std::vector<float> obs_std_;   // [D] sqrt(obs_var + kObsVarEpsilon)
  float obs_clip_ = 0;

  int capacity_ = 0;                      // largest n the buffers hold
  std::vector<std::vector<float>> bufs_;  // [0]: normalised obs [n, D]; [i]: layer i output
};

// False (with the reason) when this CPU lacks the instructions policy.cc was
// built for (see HOVERSLAM_POLICY_ARCH). Call before any Policy is used.
bool PolicyCpuSupported(std::string* why);

}  // namespace hoverslam
