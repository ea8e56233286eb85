#include "common/policy.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

#include <Eigen/Core>

namespace hoverslam {
namespace {

// Activations live as columns: an [n, k] row-major buffer is a column-major
// [k, n] matrix, so every layer is one product W [out, in] * X [in, n].
using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr float kHalfLog2Pi = 0.918938533204672742f;  // 0.5 * log(2 pi)

bool AllFinite(const std::vector<float>& v) {
  for (float x : v) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

// Empty when `weights` is a usable policy for these dims, else why not.
std::string Check(const wire::Weights& weights, int expect_obs_dim, int expect_act_dim) {
  const auto str = [](uint64_t x) { return std::to_string(x); };
  if (expect_obs_dim <= 0 || expect_act_dim <= 0) {
    return "env dims must be positive, got obs_dim " + std::to_string(expect_obs_dim) +
           " act_dim " + std::to_string(expect_act_dim);
  }
  if (weights.obs_dim != static_cast<uint32_t>(expect_obs_dim)) {
    return "weights obs_dim " + str(weights.obs_dim) + " != env obs_dim " +
           std::to_string(expect_obs_dim);
  }
  if (weights.act_dim != static_cast<uint32_t>(expect_act_dim)) {
    return "weights act_dim " + str(weights.act_dim) + " != env act_dim " +
           std::to_string(expect_act_dim);
  }
  switch (weights.activation) {
    case wire::Activation::kTanh:
    case wire::Activation::kElu:
    case wire::Activation::kRelu:
      break;
    default:
      return "unknown activation " + str(static_cast<uint64_t>(weights.activation));
  }
  if (weights.layers.empty()) return "no layers";
  uint64_t width = weights.obs_dim;  // what the next layer must take in
  for (size_t i = 0; i < weights.layers.size(); ++i) {
    const wire::Layer& layer = weights.layers[i];
    const std::string name = "layer " + str(i);
    if (layer.in != width) {
      return name + " in " + str(layer.in) + " != " + str(width) +
             (i == 0 ? " (obs_dim)" : " (previous layer's out)");
    }
    if (layer.out == 0 || layer.out > INT_MAX) return name + " out " + str(layer.out);
    if (layer.w.size() != uint64_t{layer.in} * layer.out) {
      return name + " w has " + str(layer.w.size()) +
             " floats, want in*out = " + str(uint64_t{layer.in} * layer.out);
    }
    if (layer.b.size() != layer.out) {
      return name + " b has " + str(layer.b.size()) + " floats, want out = " + str(layer.out);
    }
    if (!AllFinite(layer.w) || !AllFinite(layer.b)) return name + " has a non-finite value";
    width = layer.out;
  }
  if (width != weights.act_dim) {
    return "last layer out " + str(width) + " != act_dim " + str(weights.act_dim);
  }
  if (weights.log_std.size() != weights.act_dim) {
    return "log_std has " + str(weights.log_std.size()) + " floats, want act_dim";
  }
  if (weights.obs_mean.size() != weights.obs_dim || weights.obs_var.size() != weights.obs_dim) {
    return "obs_mean/obs_var have " + str(weights.obs_mean.size()) + "/" +
           str(weights.obs_var.size()) + " floats, want obs_dim";
  }
  if (!AllFinite(weights.log_std) || !AllFinite(weights.obs_mean) || !AllFinite(weights.obs_var)) {
    return "log_std, obs_mean or obs_var has a non-finite value";
  }
  for (float v : weights.obs_var) {
    if (v < 0) return "obs_var has a negative value";
  }
  if (!(weights.obs_clip > 0) || !std::isfinite(weights.obs_clip)) {
    return "obs_clip must be positive and finite";
  }
  return {};
}

// h = w x. Eigen's matrix product packs its operands into buffers that it puts on
// the stack up to EIGEN_STACK_ALLOCATION_LIMIT (128 KiB) and on the heap above, on
// every call. Tiles of at most kTile x kTile keep each buffer at 64 KiB, so a forward
// pass never allocates whatever the layer sizes; a 64-wide MLP at n <= 128 is one tile.
constexpr Eigen::Index kTile = 128;

void Product(const Eigen::Map<const RowMatrix>& w, const Eigen::Map<const ColMatrix>& x,
             Eigen::Map<ColMatrix>& h) {
  const Eigen::Index rows = w.rows(), depth = w.cols(), cols = x.cols();
  if (rows <= kTile && depth <= kTile && cols <= kTile) {
    h.noalias() = w * x;
    return;
  }
  for (Eigen::Index c = 0; c < cols; c += kTile) {
    const Eigen::Index nc = std::min(kTile, cols - c);
    for (Eigen::Index r = 0; r < rows; r += kTile) {
      const Eigen::Index mr = std::min(kTile, rows - r);
      auto out = h.block(r, c, mr, nc);
      for (Eigen::Index k = 0; k < depth; k += kTile) {
        const Eigen::Index kc = std::min(kTile, depth - k);
        if (k == 0) {
          out.noalias() = w.block(r, k, mr, kc) * x.block(k, c, kc, nc);
        } else {
          out.noalias() += w.block(r, k, mr, kc) * x.block(k, c, kc, nc);
        }
      }
    }
  }
}

}  // namespace

std::optional<Policy> Policy::FromWeights(const wire::Weights& weights, int expect_obs_dim,
                                          int expect_act_dim, std::string* why) {
  std::string problem = Check(weights, expect_obs_dim, expect_act_dim);
  if (!problem.empty()) {
    if (why) *why = std::move(problem);
    return std::nullopt;
  }
  Policy policy;
  policy.version_ = weights.policy_version;
  policy.obs_dim_ = expect_obs_dim;
  policy.act_dim_ = expect_act_dim;
  policy.activation_ = weights.activation;
  for (const wire::Layer& layer : weights.layers) {
    policy.layers_.push_back(
        Dense{static_cast<int>(layer.in), static_cast<int>(layer.out), layer.w, layer.b});
  }
  policy.log_std_ = weights.log_std;
  for (float log_std : weights.log_std) policy.sigma_.push_back(std::exp(log_std));
  policy.obs_mean_ = weights.obs_mean;
  for (float var : weights.obs_var) {
    policy.obs_std_.push_back(std::sqrt(var + wire::kObsVarEpsilon));
  }
  policy.obs_clip_ = weights.obs_clip;
  policy.bufs_.resize(policy.layers_.size() + 1);
  return policy;
}

void Policy::Reserve(int n) {
  if (n <= capacity_) return;
  bufs_[0].resize(static_cast<size_t>(n) * obs_dim_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    bufs_[i + 1].resize(static_cast<size_t>(n) * layers_[i].out);
  }
  capacity_ = n;
}

const float* Policy::Forward(const float* obs, int n) {
  Reserve(n);
  {
    // x = clip((obs - mean) / std, -clip, clip), column per env.
    Eigen::Map<const Eigen::ArrayXXf> o(obs, obs_dim_, n);
    Eigen::Map<const Eigen::ArrayXf> mean(obs_mean_.data(), obs_dim_);
    Eigen::Map<const Eigen::ArrayXf> std(obs_std_.data(), obs_dim_);
    Eigen::Map<Eigen::ArrayXXf> x(bufs_[0].data(), obs_dim_, n);
    x = ((o.colwise() - mean).colwise() / std).max(-obs_clip_).min(obs_clip_);
  }
  const size_t last = layers_.size() - 1;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Dense& layer = layers_[i];
    Eigen::Map<const RowMatrix> w(layer.w.data(), layer.out, layer.in);
    Eigen::Map<const Eigen::VectorXf> b(layer.b.data(), layer.out);
    Eigen::Map<const ColMatrix> x(bufs_[i].data(), layer.in, n);
    Eigen::Map<ColMatrix> h(bufs_[i + 1].data(), layer.out, n);
    // h = W x + b
    Product(w, x, h);
    h.colwise() += b;
    if (i == last) break;  // the output layer is linear
    auto a = h.array();
    switch (activation_) {
      case wire::Activation::kTanh:
        a = a.tanh();
        break;
      // elu(z) = z if z > 0 else exp(z) - 1 (alpha = 1, as torch.nn.ELU)
      case wire::Activation::kElu:
        a = (a > 0.0f).select(a, a.expm1());
        break;
      case wire::Activation::kRelu:
        a = a.max(0.0f);
        break;
    }
  }
  return bufs_.back().data();
}

float Policy::GaussianLogProb(const float* mean, const float* log_std, const float* action,
                              int act_dim) {
  float logp = 0;
  for (int j = 0; j < act_dim; ++j) {
    // log N(a; mu, sigma^2) = -0.5 ((a - mu) / sigma)^2 - log(sigma) - 0.5 log(2 pi)
    const float z = (action[j] - mean[j]) / std::exp(log_std[j]);
    logp += -0.5f * z * z - log_std[j] - kHalfLog2Pi;
  }
  return logp;
}

void Policy::Act(const float* obs, int n, Rng* rngs, bool deterministic, float* actions,
                 float* logp) {
  if (n <= 0) return;
  const float* mu = Forward(obs, n);
  const int a_dim = act_dim_;
  if (deterministic) {
    std::memcpy(actions, mu, sizeof(float) * n * a_dim);
  } else {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < a_dim; ++j) {
        // a = mu + sigma * eps, eps ~ N(0, 1)
        actions[i * a_dim + j] = mu[i * a_dim + j] + sigma_[j] * rngs[i].Normal();
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    logp[i] = GaussianLogProb(mu + i * a_dim, log_std_.data(), actions + i * a_dim, a_dim);
  }
}

void Policy::Mean(const float* obs, int n, float* mean) {
  if (n <= 0) return;
  std::memcpy(mean, Forward(obs, n), sizeof(float) * n * act_dim_);
}

void Policy::LogProb(const float* obs, const float* actions, int n, float* logp) {
  if (n <= 0) return;
  const float* mu = Forward(obs, n);
  for (int i = 0; i < n; ++i) {
    logp[i] = GaussianLogProb(mu + i * act_dim_, log_std_.data(), actions + i * act_dim_, act_dim_);
  }
}

}  // namespace hoverslam
