#include "learner/gae.h"

#include <stdexcept>
#include <string>

namespace hoverslam::learner {
namespace {

void RequireShape(const torch::Tensor& tensor, const torch::Tensor& like, const char* name) {
  if (!tensor.defined() || tensor.sizes() != like.sizes()) {
    throw std::invalid_argument(std::string("ComputeGae: ") + name +
                                " must have the shape of rewards [T, N]");
  }
}

}  // namespace

GaeResult ComputeGae(const torch::Tensor& rewards, const torch::Tensor& values,
                     const torch::Tensor& next_values, const torch::Tensor& terminated,
                     const torch::Tensor& truncated, double gamma, double lambda) {
  if (!rewards.defined() || rewards.dim() != 2) {
    throw std::invalid_argument("ComputeGae: rewards must be [T, N]");
  }
  RequireShape(values, rewards, "values");
  RequireShape(next_values, rewards, "next_values");
  RequireShape(terminated, rewards, "terminated");
  RequireShape(truncated, rewards, "truncated");

  torch::NoGradGuard no_grad;
  const torch::Tensor v = values.detach();
  const torch::Tensor not_terminated = 1 - terminated.ne(0).to(v.scalar_type());
  // done = terminated | truncated: either way obs[t+1] starts a new episode, so the
  // recursion must not carry the next episode's advantage back into this one.
  const torch::Tensor not_done =
      1 - torch::logical_or(terminated.ne(0), truncated.ne(0)).to(v.scalar_type());

  // delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t)
  // Truncation keeps the bootstrap V(final_obs): the task did not end, only the clock did.
  const torch::Tensor delta = rewards + gamma * next_values.detach() * not_terminated - v;

  const int64_t steps = rewards.size(0);
  torch::Tensor advantages = torch::empty_like(v);
  torch::Tensor next_advantage = torch::zeros_like(v[0]);  // A_T = 0: nothing after the batch
  for (int64_t t = steps - 1; t >= 0; --t) {
    // A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},  done = terminated | truncated
    next_advantage = delta[t] + gamma * lambda * not_done[t] * next_advantage;
    advantages[t] = next_advantage;
  }
  // R_t = A_t + V(s_t), the lambda-return.
  torch::Tensor returns = advantages + v;
  return {advantages, returns};
}

}  // namespace hoverslam::learner
