// The trainer's state as a whole: whether it can be published, and a snapshot to restore.
#include "learner/trainer.h"

#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hoverslam::learner {
namespace {

// Whether every element of every defined tensor is finite, with one device sync.
bool AllFinite(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> checks;
  for (const torch::Tensor& t : tensors) {
    if (t.defined()) checks.push_back(t.isfinite().all());
  }
  return checks.empty() || torch::stack(checks).all().item<bool>();
}

torch::optim::AdamParamState DeepCopy(const torch::optim::AdamParamState& s) {
  torch::optim::AdamParamState copy;
  copy.step(s.step());
  copy.exp_avg(s.exp_avg().clone());
  copy.exp_avg_sq(s.exp_avg_sq().clone());
  if (s.max_exp_avg_sq().defined()) copy.max_exp_avg_sq(s.max_exp_avg_sq().clone());
  return copy;
}

}  // namespace

std::optional<std::string> Trainer::Problem() const {
  torch::NoGradGuard no_grad;
  if (!AllFinite(model_->parameters())) {
    for (const auto& item : model_->named_parameters()) {
      if (!AllFinite({item.value()})) return "parameter " + item.key() + " is not finite";
    }
  }
  std::vector<torch::Tensor> moments;
  for (const auto& [key, state] : optimizer_.state()) {
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*state);
    moments.insert(moments.end(), {s.exp_avg(), s.exp_avg_sq(), s.max_exp_avg_sq()});
  }
  if (!AllFinite(moments)) return std::string("Adam's moments are not finite");
  if (!(model_->log_std().abs().max().item<double>() <= wire::kMaxAbsLogStd)) {
    return std::string("log_std is outside [-20, 20]");
  }
  if (!AllFinite({normalizer_.mean().to(torch::kFloat32), normalizer_.var().to(torch::kFloat32)}) ||
      !std::isfinite(normalizer_.count())) {
    return std::string("the observation statistics are not finite in float32");
  }
  if (!(std::isfinite(lr_) && lr_ > 0)) return "lr " + std::to_string(lr_) + " is not > 0";
  return std::nullopt;
}

TrainerSnapshot Trainer::Snapshot() const {
  torch::NoGradGuard no_grad;
  TrainerSnapshot s;
  for (const torch::Tensor& p : model_->parameters()) s.parameters.push_back(p.detach().clone());
  for (const auto& [key, state] : optimizer_.state()) {
    s.adam.emplace_back(key, DeepCopy(static_cast<const torch::optim::AdamParamState&>(*state)));
  }
  s.normalizer = normalizer_.state();
  s.lr = lr_;
  return s;
}

void Trainer::Restore(const TrainerSnapshot& s) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parameters = model_->parameters();
  if (parameters.size() != s.parameters.size()) {
    throw std::invalid_argument("Trainer::Restore: a snapshot of another model");
  }
  for (size_t i = 0; i < parameters.size(); ++i) {
    // set_ keeps the TensorImpl, which Adam's state is keyed by, and undoes a shape change.
    if (parameters[i].sizes() == s.parameters[i].sizes()) {
      parameters[i].copy_(s.parameters[i]);
    } else {
      parameters[i].set_(s.parameters[i].clone());
    }
  }
  optimizer_.zero_grad();
  optimizer_.state().clear();
  for (const auto& [key, state] : s.adam) {
    optimizer_.state()[key] = std::make_unique<torch::optim::AdamParamState>(DeepCopy(state));
  }
  normalizer_.Load(s.normalizer);
  set_lr(s.lr);
}

}  // namespace hoverslam::learner
