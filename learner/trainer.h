// One PPO update from a batch of trajectories: values recomputed with the current
// critic, GAE, normalised advantages, epochs x minibatches, adaptive-KL lr.
#pragma once

#include <torch/torch.h>

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/mirror.h"
#include "common/protocol.h"
#include "learner/obs_normalizer.h"
#include "learner/policy_model.h"
#include "learner/ppo_config.h"

namespace hoverslam::learner {

// Means over the update's applied minibatches (explained_var: of the batch before training).
struct UpdateStats {
  // approx_kl: analytic KL(pi_prox || pi) over each minibatch's collected states, pi_prox the
  // policy at the start of the update; clipfrac: of the ratio pi / pi_prox, over the same rows.
  // The losses and the entropy take in the mirror images too, when there are any.
  double pg_loss = 0, v_loss = 0, entropy = 0, approx_kl = 0, clipfrac = 0;
  // KL(behaviour || pi_prox) over the batch, estimated from its samples: how far the data's
  // policy (older weights, older observation statistics) is from the one being improved.
  double behaviour_kl = 0;
  double explained_var = 0, lr = 0;
  int64_t transitions = 0;
  int applied_minibatches = 0;  // optimiser steps taken
  int skipped_minibatches = 0;  // not stepped: non-finite loss, or gradient norm non-finite or
                                // above max_grad_norm_skip
  double batch_seconds = 0;     // building the batch: values, GAE, advantages
  bool rejected = false;        // nothing of the batch kept: the trainer is as it was before
  std::string rejected_why;     // why, when rejected
};

// Everything an update or a checkpoint load changes, copied: parameters, Adam's state,
// the normaliser and the learning rate.
struct TrainerSnapshot {
  std::vector<torch::Tensor> parameters;
  std::vector<std::pair<std::string, torch::optim::AdamParamState>> adam;  // by Adam's key
  ObsNormalizer::State normalizer;
  double lr = 0;
};

// The tensors PPO trains on, flattened over messages, steps and envs: [B, ...].
struct Batch {
  torch::Tensor obs;      // [B, D] normalised
  torch::Tensor actions;  // [B, A] raw samples
  torch::Tensor logp;     // [B] behaviour log-probabilities
  // The proximal policy's (the present one's) action means, and its log-probabilities of the
  // actions taken; on a mirror image, those of the proximal policy's mirror image.
  torch::Tensor prox_mean;   // [B, A]
  torch::Tensor prox_logp;   // [B]
  torch::Tensor weight;      // [B] pi_prox / pi_behaviour, truncated (decoupled PPO)
  torch::Tensor values;      // [B] V(s) before the update
  torch::Tensor advantages;  // [B] GAE
  torch::Tensor returns;     // [B] advantages + values
  torch::Tensor raw_obs;     // [B, D] as the actors saw them
  torch::Tensor collected;   // [B] 1 for a sample an actor collected, 0 for a mirror image
};

// Not thread-safe: one learner thread owns it.
class Trainer {
 public:
  // With `mirror`, each update also trains on the mirror image of every sample (see Augment).
  // std::invalid_argument if the mirror does not fit obs_dim and act_dim.
  Trainer(int64_t obs_dim, int64_t act_dim, const PpoConfig& config, torch::Device device,
          std::optional<MirrorSpec> mirror = std::nullopt);

  // Merges the batch's observations into the normaliser, builds the batch with it (values
  // from the current critic, GAE per message) and trains on it, so the exported weights and
  // statistics belong together. The ratio is clipped around the policy as it stands now (with
  // the new statistics), the adaptive lr follows the KL from it, and each sample is weighted by
  // how much more likely that policy is than the one that collected it (decoupled PPO). With a
  // mirror, the statistics and the epochs take in every sample's mirror image too (Augment).
  // Messages must fit obs/act dims (std::invalid_argument otherwise).
  //
  // Never leaves a state that cannot be published: a minibatch with a non-finite loss or
  // an exploding gradient is skipped, and when no minibatch was applied or Problem() finds
  // anything afterwards, the trainer is restored to what it was and the update is reported
  // rejected. If it throws, the trainer is also as it was.
  UpdateStats Update(const std::vector<wire::Trajectory>& messages);

  Batch BuildBatch(const std::vector<wire::Trajectory>& messages);
  // Appends the batch's mirror image, as rsl_rl's symmetry augmentation does: observations
  // and actions mirrored; advantages, returns, behaviour weights and the proximal
  // log-probabilities copied (a symmetric task pays the mirrored trajectory the same rewards).
  // The mirrored sample's ratio is therefore pi(a'|s') / pi_prox(a|s): where the policy is
  // lopsided the clip pulls each side toward the other's image. Recomputing pi_prox at the
  // mirrored state instead (ratio 1 at the start) stalled at 9% landed after 1.5M env steps.
  // The proximal means are mirrored too; the old values are read at the mirrored states. The KL
  // that sets the lr, and the reported clip fraction, are over the collected samples only.
  // Without a mirror, leaves the batch as it is.
  void Augment(Batch* batch);

  // The policy as actors run it.
  wire::Weights Export(uint64_t version, const std::string& run, const std::string& env) const;

  // nullopt when the state can be published and trained on: every parameter, Adam moment and
  // normaliser statistic finite (the statistics as the float32 they are exported as), log_std
  // within the wire's +-20 and lr finite and > 0; else what is wrong.
  std::optional<std::string> Problem() const;

  TrainerSnapshot Snapshot() const;
  // Puts a snapshot of this trainer back, parameters' shapes included.
  void Restore(const TrainerSnapshot& snapshot);

  ActorCritic& model() { return model_; }
  torch::optim::Adam& optimizer() { return optimizer_; }
  ObsNormalizer& normalizer() { return normalizer_; }
  double lr() const { return lr_; }
  void set_lr(double lr);
  // Policy versions trained so far (the learner's, restored with a checkpoint): what the
  // annealed KL target is read at.
  void set_progress(uint64_t updates) { progress_ = updates; }
  torch::Device device() const { return device_; }

 private:
  // Update without the restore: the epochs over the batch, with the per-minibatch guards.
  UpdateStats Train(const std::vector<wire::Trajectory>& messages);

  PpoConfig config_;
  torch::Device device_;
  ActorCritic model_;
  ObsNormalizer normalizer_;
  torch::optim::Adam optimizer_;
  double lr_;
  uint64_t progress_ = 0;
  // The mirror's maps as tensors on the device: index, sign and offset for obs and actions.
  std::optional<std::array<torch::Tensor, 3>> mirror_obs_, mirror_act_;
};

}  // namespace hoverslam::learner
