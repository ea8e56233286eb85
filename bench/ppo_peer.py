#!/usr/bin/env python3
"""ppo_peer: the learner's PPO update written the usual Python way, as a speed peer.

The same work as one Trainer::Update of hoverslam-learner with its defaults (bench_learner's
"64-64 tanh" row): 8 messages of T=128 steps x N=16 envs (16,384 transitions, ~1% terminated,
~0.5% truncated with a final observation), the running observation normaliser merged first,
values of every observation and of each final one, GAE over T with terminated and truncated
kept apart, advantages normalised, the proximal policy's means and log-probabilities, then
epochs x minibatches of the decoupled clipped surrogate, clipped value loss and entropy bonus,
gradient-norm clip, Adam, and the adaptive learning rate from the analytic Gaussian KL. One
thread, Debian's python3-torch. Prints a table and, as its last line, one JSON object with
samples/s (transitions x epochs per second), the median over --repeats updates.

    bench/ppo_peer.py [--repeats 5] [--epochs 10] [--minibatches 8] [--hidden 64,64]
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch import nn

OBS_DIM, ACT_DIM, T, N, MESSAGES = 6, 2, 128, 16, 8
GAMMA, LAMBDA, REWARD_SCALE, CLIP, VALUE_CLIP = 0.998, 0.98, 0.01, 0.2, 0.2
VALUE_COEF, ENTROPY_COEF, MAX_GRAD_NORM, DESIRED_KL = 1.0, 0.001, 1.0, 0.005
WEIGHT_MAX, OBS_CLIP = 2.0, 10.0


def mlp(sizes, out_gain):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(a, b)
        last = i == len(sizes) - 2
        nn.init.orthogonal_(layer.weight, out_gain if last else 2 ** 0.5)
        nn.init.zeros_(layer.bias)
        layers += [layer] if last else [layer, nn.Tanh()]
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.actor = mlp([OBS_DIM, *hidden, ACT_DIM], 0.01)
        self.critic = mlp([OBS_DIM, *hidden, 1], 1.0)
        self.log_std = nn.Parameter(torch.full((ACT_DIM,), -0.5))

    def log_prob(self, mean, actions):
        z = (actions - mean) / self.log_std.exp()
        return (-0.5 * z * z - self.log_std - 0.5 * np.log(2 * np.pi)).sum(-1)

    def entropy(self):
        return (0.5 + 0.5 * np.log(2 * np.pi) + self.log_std).sum()


class Normalizer:
    def __init__(self):
        self.mean = torch.zeros(OBS_DIM, dtype=torch.float64)
        self.var = torch.ones(OBS_DIM, dtype=torch.float64)
        self.count = 1e-4

    def update(self, x):
        x = x.double()
        b_mean, b_var, b = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta, total = b_mean - self.mean, self.count + b
        self.mean = self.mean + delta * b / total
        self.var = (self.var * self.count + b_var * b + delta ** 2 * self.count * b / total) / total
        self.count = total

    def __call__(self, x):
        return ((x - self.mean.float()) / (self.var.float() + 1e-8).sqrt()).clamp(-OBS_CLIP,
                                                                                   OBS_CLIP)


def make_batch(seed):
    """Rocket-like data shaped as bench_learner's: [M, T+1, N, D] observations and so on."""
    rng = np.random.default_rng(seed)
    scale = np.array([30, 5, 0.2, 2, 2, 0.1], np.float32)
    offset = np.array([40, 35, 0, 0, -1, 0], np.float32)
    obs = (offset + scale * rng.standard_normal((MESSAGES, T + 1, N, OBS_DIM))).astype(np.float32)
    sigma = np.exp(-0.5)
    z = rng.standard_normal((MESSAGES, T, N, ACT_DIM)).astype(np.float32)
    logp = (-0.5 * z * z + 0.5 - 0.9189385).sum(-1).astype(np.float32)
    u = rng.random((MESSAGES, T, N))
    terminated = (u < 0.01).astype(np.float32)
    truncated = ((u >= 0.01) & (u < 0.015)).astype(np.float32)
    rewards = (0.1 * rng.standard_normal((MESSAGES, T, N)) +
               np.where(u < 0.005, 10, np.where(u < 0.01, -10, 0))).astype(np.float32)
    final_idx = np.flatnonzero(truncated)
    final_obs = (offset + scale * rng.standard_normal((final_idx.size, OBS_DIM))).astype(np.float32)
    return {k: torch.from_numpy(v) for k, v in dict(
        obs=obs, actions=sigma * z, logp=logp, rewards=rewards, terminated=terminated,
        truncated=truncated, final_idx=final_idx, final_obs=final_obs).items()}


def update(model, optimizer, normalizer, data, epochs, minibatches, lr):
    normalizer.update(data["obs"][:, :T].reshape(-1, OBS_DIM))
    with torch.no_grad():
        x = normalizer(data["obs"])
        values = model.critic(x).squeeze(-1)  # [M, T+1, N]
        next_values = values[:, 1:].clone()
        final_v = model.critic(normalizer(data["final_obs"])).squeeze(-1)
        next_values.view(-1)[data["final_idx"]] = final_v
        values = values[:, :T]
        rewards = data["rewards"] * REWARD_SCALE
        not_term = 1 - data["terminated"]
        not_done = 1 - torch.maximum(data["terminated"], data["truncated"])
        advantages = torch.zeros_like(rewards)
        last = torch.zeros(MESSAGES, N)
        for t in reversed(range(T)):
            delta = rewards[:, t] + GAMMA * next_values[:, t] * not_term[:, t] - values[:, t]
            last = delta + GAMMA * LAMBDA * not_done[:, t] * last
            advantages[:, t] = last
        returns = advantages + values
        b_obs = x[:, :T].reshape(-1, OBS_DIM)
        b_actions = data["actions"].reshape(-1, ACT_DIM)
        b_logp, b_values = data["logp"].reshape(-1), values.reshape(-1)
        b_adv, b_returns = advantages.reshape(-1), returns.reshape(-1)
        b_adv = (b_adv - b_adv.mean()) / (b_adv.std(unbiased=False) + 1e-8)
        prox_mean = model.actor(b_obs)
        prox_logp = model.log_prob(prox_mean, b_actions)
        log_w = prox_logp - b_logp
        weight = log_w.clamp(-20, 20).exp().clamp(max=WEIGHT_MAX)
        weight = torch.where(log_w.abs() < 20, weight, torch.zeros_like(weight))
        prox_log_std = model.log_std.detach().clone()

    size = b_obs.shape[0]
    mb = size // minibatches
    kls = []
    for _ in range(epochs):
        order = torch.randperm(size)
        for start in range(0, size - mb + 1, mb):
            idx = order[start:start + mb]
            mean = model.actor(b_obs[idx])
            log_ratio = (model.log_prob(mean, b_actions[idx]) - prox_logp[idx]).clamp(-20, 20)
            ratio = log_ratio.exp()
            adv = b_adv[idx]
            pg = (torch.max(-adv * ratio, -adv * ratio.clamp(1 - CLIP, 1 + CLIP)) *
                  weight[idx]).mean()
            v = model.critic(b_obs[idx]).squeeze(-1)
            v_old, ret = b_values[idx], b_returns[idx]
            v_clipped = v_old + (v - v_old).clamp(-VALUE_CLIP, VALUE_CLIP)
            v_loss = 0.5 * torch.max((v - ret) ** 2, (v_clipped - ret) ** 2).mean()
            entropy = model.entropy()
            loss = pg + VALUE_COEF * v_loss - ENTROPY_COEF * entropy
            with torch.no_grad():
                var_p, var_q = (2 * prox_log_std).exp(), (2 * model.log_std).exp()
                kl = (model.log_std - prox_log_std +
                      (var_p + (prox_mean[idx] - mean) ** 2) / (2 * var_q) - 0.5).sum(-1).mean()
            kl = kl.item()
            if not np.isfinite(loss.item()):
                continue
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            if kl > 2 * DESIRED_KL:
                lr = max(1e-5, lr / 1.5)
            elif 0 < kl < DESIRED_KL / 2:
                lr = min(1e-2, lr * 1.5)
            for group in optimizer.param_groups:
                group["lr"] = lr
            kls.append(kl)
    return lr, statistics.fmean(kls)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--minibatches", type=int, default=8)
    p.add_argument("--hidden", default="64,64")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    hidden = [int(h) for h in args.hidden.split(",")]
    model = ActorCritic(hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, eps=1e-5)
    normalizer, data, lr = Normalizer(), make_batch(7), 3e-4
    lr, _ = update(model, optimizer, normalizer, data, args.epochs, args.minibatches, lr)  # warm-up
    rates = []
    transitions = MESSAGES * T * N
    for _ in range(max(3, args.repeats)):
        t0 = time.perf_counter()
        lr, kl = update(model, optimizer, normalizer, data, args.epochs, args.minibatches, lr)
        rates.append(transitions * args.epochs / (time.perf_counter() - t0))
    rate = statistics.median(rates)
    print(f"PPO update in Python (torch {torch.__version__}, 1 thread), {transitions} transitions, "
          f"{args.epochs} epochs x {args.minibatches} minibatches, {args.hidden} tanh")
    print(f"  samples/s: median {rate:,.0f} (runs {', '.join(f'{r:,.0f}' for r in rates)})")
    print(json.dumps({"bench": "ppo_peer", "samples_per_s": round(rate), "runs": len(rates),
                      "epochs": args.epochs, "minibatches": args.minibatches,
                      "hidden": args.hidden, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
