#include "learner/policy_model.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/nn/init.h>

namespace hoverslam::learner {
namespace {

// 0.5 * log(2 pi), the Gaussian normaliser per dimension.
constexpr double kHalfLog2Pi = 0.91893853320467274178;

// Builds Linear layers in -> hidden... -> out, registered under `name` in `owner`.
std::vector<torch::nn::Linear> MakeMlp(torch::nn::Module& owner, const std::string& name,
                                       int64_t in, const std::vector<int>& hidden, int64_t out,
                                       double output_gain) {
  torch::nn::ModuleList list;
  std::vector<torch::nn::Linear> layers;
  int64_t width = in;
  for (size_t i = 0; i <= hidden.size(); ++i) {
    const bool last = i == hidden.size();
    const int64_t next = last ? out : hidden[i];
    torch::nn::Linear layer(width, next);
    torch::NoGradGuard no_grad;
    torch::nn::init::orthogonal_(layer->weight, last ? output_gain : std::sqrt(2.0));
    torch::nn::init::zeros_(layer->bias);
    list->push_back(layer);
    layers.push_back(layer);
    width = next;
  }
  owner.register_module(name, list);
  return layers;
}

}  // namespace

ActorCriticImpl::ActorCriticImpl(int64_t obs_dim, int64_t act_dim, const PpoConfig& config)
    : obs_dim_(obs_dim), act_dim_(act_dim), activation_(config.activation) {
  if (obs_dim < 1 || act_dim < 1) {
    throw std::invalid_argument("ActorCritic: obs_dim and act_dim must be >= 1");
  }
  config.Validate();
  policy_layers_ = MakeMlp(*this, "policy", obs_dim, config.hidden, act_dim, 0.01);
  value_layers_ = MakeMlp(*this, "value", obs_dim, config.hidden, 1, 1.0);
  log_std_ = register_parameter("log_std", torch::full({act_dim}, config.init_log_std));
}

torch::Tensor ActorCriticImpl::Forward(const std::vector<torch::nn::Linear>& layers,
                                       torch::Tensor x) const {
  for (size_t i = 0; i < layers.size(); ++i) {
    x = torch::linear(x, layers[i]->weight, layers[i]->bias);  // x W^T + b
    if (i + 1 == layers.size()) break;                         // linear output layer
    switch (activation_) {
      case wire::Activation::kTanh:
        x = torch::tanh(x);
        break;
      case wire::Activation::kElu:
        x = torch::elu(x);
        break;  // alpha = 1, as actors assume
      case wire::Activation::kRelu:
        x = torch::relu(x);
        break;
    }
  }
  return x;
}

torch::Tensor ActorCriticImpl::Mean(const torch::Tensor& obs) {
  return Forward(policy_layers_, obs);
}

torch::Tensor ActorCriticImpl::Value(const torch::Tensor& obs) {
  return Forward(value_layers_, obs).squeeze(-1);
}

torch::Tensor ActorCriticImpl::Entropy() const {
  // H = sum_i (0.5 + 0.5 log(2 pi) + log sigma_i)
  return (0.5 + kHalfLog2Pi + log_std_).sum();
}

torch::Tensor ActorCriticImpl::LogProb(const torch::Tensor& mean, const torch::Tensor& log_std,
                                       const torch::Tensor& actions) {
  // log p(a) = sum_i [-0.5 ((a_i - mu_i) / sigma_i)^2 - log sigma_i - 0.5 log(2 pi)]
  const torch::Tensor z = (actions - mean) * torch::exp(-log_std);
  return (-0.5 * z.square() - log_std - kHalfLog2Pi).sum(-1);
}

namespace {

std::vector<float> ToFloats(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const float* data = t.data_ptr<float>();
  return std::vector<float>(data, data + t.numel());
}

}  // namespace

wire::Weights ExportWeights(const ActorCritic& model, const ObsNormalizer& normalizer,
                            uint64_t version, const std::string& run, const std::string& env) {
  if (normalizer.obs_dim() != model->obs_dim()) {
    throw std::invalid_argument("ExportWeights: normalizer and model disagree on obs_dim");
  }
  wire::Weights weights;
  weights.run = run;
  weights.env = env;
  weights.policy_version = version;
  weights.obs_dim = static_cast<uint32_t>(model->obs_dim());
  weights.act_dim = static_cast<uint32_t>(model->act_dim());
  weights.activation = model->activation();
  for (const torch::nn::Linear& linear : model->policy_layers()) {
    wire::Layer layer;
    layer.in = static_cast<uint32_t>(linear->options.in_features());
    layer.out = static_cast<uint32_t>(linear->options.out_features());
    layer.w = ToFloats(linear->weight);  // [out, in] row-major, as the wire wants
    layer.b = ToFloats(linear->bias);
    weights.layers.push_back(std::move(layer));
  }
  weights.log_std = ToFloats(model->log_std());
  weights.obs_mean = ToFloats(normalizer.mean());
  weights.obs_var = ToFloats(normalizer.var());
  weights.obs_clip = normalizer.clip();
  return weights;
}

}  // namespace hoverslam::learner
