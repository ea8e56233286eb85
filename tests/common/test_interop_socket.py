#!/usr/bin/python3
"""Wire protocol v2 over real sockets: the real hoverslam-learner against a Python actor
written only from the protocol description (common/protocol.h), with pyzmq and msgpack.

usage: test_interop_socket.py PATH/TO/hoverslam-learner

The Python actor
(a) learns the run and the current version from the weights the learner publishes;
(b) sends a trajectory without asking: the learner counts it as no_credit;
(c) sends ready, receives a grant with exactly the keys of the table (proto 2, type grant,
    run, env, policy_version = the current version), sends a valid trajectory, which the
    learner accepts; enough of them make it publish the next version;
(d) sends a proto 1 trajectory: the learner counts it as wrong_proto.
The learner is stopped with SIGTERM at the end, also when a check fails.
"""
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import msgpack
import numpy as np
import zmq

LEARNER = sys.argv[1] if len(sys.argv) > 1 else None
T, N = 8, 4  # 32 transitions a rollout
BATCH = 2 * T * N  # the learner updates after two rollouts
FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll_until(timeout_s, done):
    """Calls done() until it returns a true value, which is returned; None after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = done()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)  # polling interval, not a synchronisation


# ---------------------------------------------------------------- the learner's metrics
def scrape(port):
    """{'name{labels}': value} of every sample on /metrics; {} when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            samples[series] = float(value)
    return samples


def rejected(port, reason):
    return scrape(port).get(f'hoverslam_learner_rejected_total{{reason="{reason}"}}', 0.0)


def received(port):
    return scrape(port).get("hoverslam_learner_trajectories_received_total", 0.0)


# ---------------------------------------------------------------- messages, from the tables
def f4(a):
    return np.asarray(a, dtype="<f4").tobytes()


class Policy:
    """The policy a weights message describes: clip((obs - mean) / sqrt(var + 1e-8)), then
    the layers, input to output, with the activation between them; N(mu, exp(log_std))."""

    def __init__(self, w):
        act = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0),
               "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))}
        self.activation = act[w["activation"]]
        self.layers = [(np.frombuffer(l["w"], "<f4").reshape(l["out"], l["in"]),
                        np.frombuffer(l["b"], "<f4")) for l in w["layers"]]
        self.log_std = np.frombuffer(w["log_std"], "<f4")
        self.mean = np.frombuffer(w["obs_mean"], "<f4")
        self.std = np.sqrt(np.frombuffer(w["obs_var"], "<f4") + 1e-8)
        self.clip = w["obs_clip"]

    def act(self, obs, rng):
        """Raw Gaussian actions and their log-probabilities for a batch of observations."""
        x = np.clip((obs - self.mean) / self.std, -self.clip, self.clip)
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if i < len(self.layers) - 1:
                x = self.activation(x)
        z = rng.standard_normal(x.shape)
        actions = x + np.exp(self.log_std) * z
        logp = (-0.5 * z * z - self.log_std - 0.5 * math.log(2 * math.pi)).sum(axis=-1)
        return actions, logp


def trajectory(run, version, policy, rng, proto=2):
    """A valid rollout of T steps x N envs: rocket-like observations (D = 6), on-policy actions
    (A = 2), one crash at step 3 of env 1 and one time-out at step 5 of env 2."""
    obs = np.stack([rng.uniform(10, 70, (T + 1, N)), rng.uniform(2, 40, (T + 1, N)),
                    rng.uniform(-0.3, 0.3, (T + 1, N)), rng.uniform(-2, 2, (T + 1, N)),
                    rng.uniform(-4, 1, (T + 1, N)), rng.uniform(-0.2, 0.2, (T + 1, N))], -1)
    actions, logp = policy.act(obs[:T], rng)
    terminated = np.zeros((T, N), np.uint8)
    truncated = np.zeros((T, N), np.uint8)
    terminated[3, 1] = 1
    truncated[5, 2] = 1
    return {
        "proto": proto, "type": "trajectory", "run": run, "env": "rocket", "actor": "py-actor",
        "policy_version": version, "num_steps": T, "num_envs": N, "obs_dim": 6, "act_dim": 2,
        "obs": f4(obs), "actions": f4(actions), "logp": f4(logp),
        "rewards": f4(rng.uniform(-1, 1, (T, N))),
        "terminated": terminated.tobytes(), "truncated": truncated.tobytes(),
        "final_idx": np.array([5 * N + 2], "<u4").tobytes(),
        "final_obs": f4(rng.uniform(0, 40, (1, 6))),
        "episodes": [{"return": -42.5, "length": 120, "outcome": "crashed"},
                     {"return": 12.25, "length": 600, "outcome": "timeout"}],
    }


def ready(run, version):
    return {"proto": 2, "type": "ready", "run": run, "env": "rocket", "actor": "py-actor",
            "policy_version": version, "transitions": T * N}


def pack(message):
    return msgpack.packb(message, use_bin_type=True, use_single_float=True)


# ---------------------------------------------------------------- the Python actor
class PyActor:
    def __init__(self, ctx, trajectory_port, weights_port):
        self.dealer = ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.connect(f"tcp://127.0.0.1:{trajectory_port}")
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(f"tcp://127.0.0.1:{weights_port}")
        self.weights = None

    def newest_weights(self, timeout_s, newer_than=-1):
        """The newest weights message with a version above newer_than, or None."""
        def take():
            while self.sub.poll(10):
                w = msgpack.unpackb(self.sub.recv(), raw=False)
                if w.get("type") == "weights":
                    self.weights = w
            return self.weights is not None and self.weights["policy_version"] > newer_than
        return self.weights if poll_until(timeout_s, take) else None

    def send(self, message):
        self.dealer.send(pack(message) if isinstance(message, dict) else message)

    def grant(self, timeout_s):
        """The next message from the learner on the trajectory channel, unpacked, or None."""
        if not self.dealer.poll(int(timeout_s * 1000)):
            return None
        frames = self.dealer.recv_multipart()
        check(len(frames) == 1, f"a grant of {len(frames)} frames")
        return msgpack.unpackb(frames[0], raw=False)


GRANT_KEYS = {"proto": int, "type": str, "run": str, "env": str, "policy_version": int}


def run_checks(learner_metrics, actor, rng):
    # (a) The published weights name the run and the current version.
    w = actor.newest_weights(60)
    if not check(w is not None, "no weights published"):
        return
    run, version = w["run"], w["policy_version"]
    check(w["proto"] == 2 and w["obs_dim"] == 6 and w["act_dim"] == 2, f"weights header {w}")
    policy = Policy(w)
    check(poll_until(10, lambda: scrape(learner_metrics)), "no /metrics")

    # (b) A trajectory nobody asked for.
    before = rejected(learner_metrics, "no_credit")
    actor.send(trajectory(run, version, policy, rng))
    check(poll_until(10, lambda: rejected(learner_metrics, "no_credit") == before + 1),
          f"no_credit counted {rejected(learner_metrics, 'no_credit')}, expected {before + 1}")
    check(received(learner_metrics) == 0, "the unasked trajectory was accepted")

    # (c) Ready, grant, trajectory, until the learner publishes the next version.
    first_grant = None
    for i in range(2 * BATCH // (T * N)):
        w = actor.newest_weights(0) or w
        policy = Policy(w)
        actor.send(ready(run, w["policy_version"]))
        g = actor.grant(20)
        if not check(g is not None, f"no grant for ready {i}"):
            return
        first_grant = first_grant or g
        check(set(g) == set(GRANT_KEYS), f"grant keys {sorted(g)} != {sorted(GRANT_KEYS)}")
        for key, kind in GRANT_KEYS.items():
            check(isinstance(g.get(key), kind), f"grant {key} is {type(g.get(key)).__name__}")
        check(g["proto"] == 2 and g["type"] == "grant", f"grant header {g}")
        check(g["run"] == run and g["env"] == "rocket", f"grant of run {g['run']} env {g['env']}")
        # Collect with weights of at least the granted version, as the grant asks.
        w = actor.newest_weights(20, g["policy_version"] - 1)
        if not check(w is not None, f"never saw the granted version {g['policy_version']}"):
            return
        policy = Policy(w)
        count = received(learner_metrics)
        actor.send(trajectory(run, w["policy_version"], policy, rng))
        check(poll_until(10, lambda: received(learner_metrics) == count + 1),
              f"trajectory {i} not accepted: {scrape(learner_metrics)}")
        if w["policy_version"] > version:
            break
    check(first_grant is not None and first_grant["policy_version"] == version,
          f"first grant {first_grant}, learner at version {version}")
    check(actor.newest_weights(30, version) is not None,
          f"no version after {version} though {BATCH} transitions were granted and sent")

    # (d) An actor of protocol v1.
    before = rejected(learner_metrics, "wrong_proto")
    actor.send(trajectory(run, version, policy, rng, proto=1))
    check(poll_until(10, lambda: rejected(learner_metrics, "wrong_proto") == before + 1),
          "a proto 1 trajectory was not counted as wrong_proto")


def main():
    if LEARNER is None or not os.access(LEARNER, os.X_OK):
        print(__doc__)
        return 2
    trajectory_port, weights_port, metrics_port = free_port(), free_port(), free_port()
    log = tempfile.NamedTemporaryFile(prefix="interop-socket-learner-", suffix=".log",
                                      delete=False)
    learner = subprocess.Popen(
        [LEARNER, "--bind", "127.0.0.1", "--trajectory-port", str(trajectory_port),
         "--weights-port", str(weights_port), "--metrics-port", str(metrics_port),
         "--metrics-bind", "127.0.0.1", "--device", "cpu", "--threads", "1",
         "--batch-transitions", str(BATCH), "--epochs", "1", "--minibatches", "1",
         "--republish-interval", "0.2"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ctx = zmq.Context()
    actor = PyActor(ctx, trajectory_port, weights_port)
    try:
        run_checks(metrics_port, actor, np.random.default_rng(7))
    finally:
        actor.dealer.close()
        actor.sub.close()
        ctx.term()
        learner.send_signal(signal.SIGTERM)
        try:
            rc = learner.wait(timeout=30)
            check(rc == 0, f"the learner exited {rc} on SIGTERM")
        except subprocess.TimeoutExpired:
            learner.kill()
            learner.wait()
            check(False, "the learner did not stop within 30 s of SIGTERM")
    print(f"wire interop over sockets: {CHECKS[0] - len(FAILURES)}/{CHECKS[0]} checks passed")
    if FAILURES:
        print(f"{len(FAILURES)} FAILED; learner log: {log.name}")
        with open(log.name, errors="replace") as f:
            print("".join(f.readlines()[-30:]))
        return 1
    os.unlink(log.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
