#!/usr/bin/env python3
"""End-to-end tests of deploy/local/hoverslam-train with the real binaries of a build.

Usage: test_launcher.py BUILD_DIR [unittest names...]

Every run is bounded (env steps or minutes) and small (2 actors, 2,048-transition batches), so it
takes well under a minute on a 2-core machine. None depends on the policy learning anything. Run
directories are kept under BUILD_DIR/tests/deploy/runs/ for inspection after a failure.
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[2] / "deploy" / "local" / "hoverslam-train"
BUILD = None  # set from argv in __main__
SMALL = ["--actors", "2", "--learner-threads", "1", "--eval-every-s", "1",
         "--eval-episodes", "20", "--progress-s", "2"]
# The stop tests want many versions quickly, so they use small batches; with 4,096-transition
# batches the data in flight spans several versions, so they accept any lag. The bounded run keeps
# the learner's defaults (16,384-transition batches, max lag 4): it checks that nothing is rejected
# as a user would run it.
LEARNER = "--batch-transitions 4096 --max-policy-lag 64"


# ---------------------------------------------------------------------------------------------
# Helpers

def run_dir(name):
    path = BUILD / "tests" / "deploy" / "runs" / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def start(run, *args):
    """The launcher on `run`, its stdout and stderr in files there (a pipe could fill up)."""
    run.mkdir(parents=True)
    cmd = [sys.executable, str(LAUNCHER), "--build-dir", str(BUILD), "--run-dir", str(run),
           *args]
    with open(run / "launcher.out", "w") as out, open(run / "launcher.err", "w") as err:
        return subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)


def finish(proc, run, timeout=120):
    """Waits for the launcher; returns (rc, stdout, stderr)."""
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"launcher still running after {timeout} s:\n" + output(run))
    return rc, (run / "launcher.out").read_text(), (run / "launcher.err").read_text()


def output(run):
    text = ""
    for name in ("launcher.out", "launcher.err", "learner.log"):
        path = run / name
        if path.exists():
            text += f"--- {name} (tail)\n" + "\n".join(path.read_text().splitlines()[-15:]) + "\n"
    return text


def poll_until(timeout_s, done, what):
    """Calls done() until it is true or timeout_s passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.1)  # polling interval, not a synchronisation
    if not done():
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def learner_version(run):
    """Newest version in the learner's log ("version 12 | ..."), 0 before the first update."""
    try:
        found = re.findall(r"\] version (\d+) \|", (run / "learner.log").read_text())
    except FileNotFoundError:
        return 0
    return max(map(int, found), default=0)


def metrics(path):
    """Prometheus text -> {(name, labels text): value}, for exact lookups in assertions."""
    samples = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and not line.startswith("#"):
            samples[(m[1], m[2] or "")] = float(m[3])
    return samples


def process_alive(pid, binary=b"hoverslam"):
    """True when `pid` is a running (not zombie) process of one of our binaries; a reused pid
    that runs something else is not ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    if state == "Z":
        # Exited; a zombie is only a leak when it is ours to reap and we have not.
        return int(ppid) == os.getpid()
    return binary in cmdline


def kill_leftovers(proc, pids):
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pid in [pids["learner"], *pids["actors"]]:
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)


def gif_frames(data):
    """Image descriptors in a GIF, found by walking its block structure; raises ValueError on a
    malformed or truncated file."""
    if data[:6] != b"GIF89a":
        raise ValueError(f"not a GIF89a header: {data[:6]!r}")
    try:
        packed = data[10]
        pos = 13 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)  # global colour table

        def skip_sub_blocks(pos):
            while data[pos]:
                pos += 1 + data[pos]
            return pos + 1

        frames = 0
        while True:
            block, pos = data[pos], pos + 1
            if block == 0x3B:  # trailer
                return frames
            if block == 0x21:  # extension: label, then sub-blocks
                pos = skip_sub_blocks(pos + 1)
            elif block == 0x2C:  # image: 9-byte descriptor, local table, LZW code size, data
                packed = data[pos + 8]
                pos += 9 + (3 * (2 << (packed & 7)) if packed & 0x80 else 0)
                pos = skip_sub_blocks(pos + 1)
                frames += 1
            else:
                raise ValueError(f"unknown block 0x{block:02x} at byte {pos - 1}")
    except IndexError:
        raise ValueError("truncated GIF") from None


# ---------------------------------------------------------------------------------------------
# Tests

class LauncherRunTest(unittest.TestCase):
    """A whole bounded run: training, periodic evals, clean stop, final eval and GIF."""

    MAX_STEPS = 300_000  # about 18 versions of the default batch

    @classmethod
    def setUpClass(cls):
        cls.dir = run_dir("bounded")
        t0 = time.monotonic()
        proc = start(cls.dir, *SMALL, "--max-env-steps", str(cls.MAX_STEPS), "--max-minutes", "2",
                     "--target-success", "0", "--render-episodes", "1",
                     "--learner-args", "--checkpoint-every 2")
        cls.rc, cls.out, cls.err = finish(proc, cls.dir, timeout=150)
        cls.seconds = time.monotonic() - t0
        cls.pids = json.loads((cls.dir / "pids.json").read_text())

    def check(self, ok, message):
        self.assertTrue(ok, f"{message}\n{output(self.dir)}")

    def test_stops_at_env_step_budget(self):
        self.check(self.rc == 0, f"exit status {self.rc}")
        summary = json.loads((self.dir / "summary.json").read_text())
        self.assertEqual(summary["stop_reason"], "max_env_steps")
        self.assertGreater(summary["env_steps"], 0)
        self.assertTrue(self.out.splitlines()[-1].startswith("stopped: max_env_steps after "),
                        self.out)

    def test_learner_trained_on_both_actors_without_rejections(self):
        m = metrics(self.dir / "learner-metrics.txt")
        self.assertGreaterEqual(m[("hoverslam_learner_policy_version", "")], 2)
        rejected = {k: v for k, v in m.items() if k[0] == "hoverslam_learner_rejected_total"}
        self.assertGreater(len(rejected), 5, "rejection counters are missing")
        self.assertEqual({k: v for k, v in rejected.items() if v != 0}, {})
        self.assertGreater(m[("hoverslam_learner_policy_lag_count", "")], 0)
        self.assertEqual(m[("hoverslam_learner_actors_seen", "")], 2)
        for i in range(2):
            actor = metrics(self.dir / f"actor-{i}-metrics.txt")
            self.assertGreater(actor[("hoverslam_actor_trajectories_sent_total", "")], 0,
                               f"actor-{i} sent nothing")

    def test_checkpoint_and_policy_written(self):
        ckpt = self.dir / "checkpoints"
        self.assertTrue(list(ckpt.glob("ckpt-*.pt")), "no checkpoint")
        self.assertTrue((ckpt / "policy.msgpack").stat().st_size > 0)
        self.assertTrue((self.dir / "best.msgpack").stat().st_size > 0)

    def test_periodic_evals_recorded(self):
        # The evaluator service's own log of evaluations...
        evals = [json.loads(l) for l in (self.dir / "evals.jsonl").read_text().splitlines()]
        self.check(len(evals) >= 2, "fewer than two periodic evaluations")
        versions = [e["policy_version"] for e in evals]
        self.assertEqual(versions, sorted(set(versions)), "a version evaluated twice")
        for e in evals:
            self.assertEqual(e["episodes"], 20)
            self.assertEqual(e["seed"], 1000)
            self.assertTrue(0 <= e["success_rate"] <= 1)
        # ...its best is best.msgpack, and the launcher placed each one on its timeline.
        best = [e for e in evals if e["best"]][-1]
        self.assertEqual(json.loads((self.dir / "best.json").read_text())["policy_version"],
                         best["policy_version"])
        summary = json.loads((self.dir / "summary.json").read_text())
        self.assertEqual([e["policy_version"] for e in summary["evals"]], versions)
        steps = [e["env_steps"] for e in summary["evals"]]
        self.assertEqual(steps, sorted(steps))
        self.assertTrue(all(0 <= e["elapsed_s"] < 120 for e in summary["evals"]))
        self.assertEqual(summary["best_eval"]["policy_version"], best["policy_version"])
        # The launcher scrapes the evaluator just before stopping it: one more evaluation may
        # finish (and reach evals.jsonl) in between, never one fewer.
        evaluator = metrics(self.dir / "evaluator-metrics.txt")
        self.assertIn(evaluator[("hoverslam_eval_evaluations_total", "")],
                      (len(evals) - 1, len(evals)))

    def test_final_eval_and_gif(self):
        summary = json.loads((self.dir / "summary.json").read_text())
        self.assertEqual(summary["final_eval"]["episodes"], 100)  # max(--eval-episodes, 100)
        gif = (self.dir / "landing.gif").read_bytes()
        self.assertGreater(gif_frames(gif), 1)

    def test_no_process_outlives_the_launcher(self):
        for pid in [self.pids["launcher"], self.pids["learner"], *self.pids["actors"],
                    self.pids["evaluator"]]:
            self.assertFalse(process_alive(pid, b""), f"pid {pid} still alive")

    def test_run_is_short(self):
        print(f"bounded run took {self.seconds:.1f} s", file=sys.stderr)
        self.assertLess(self.seconds, 90)


class LauncherScaleTest(unittest.TestCase):
    """16 actors on the learner's defaults (16,384-transition batches of 8 rollouts): the learner
    asks for one batch at a time, so twice as many actors as a batch has rollouts waste nothing.
    Before credit flow, 16 actors on 2 cores trained on 27% of the steps they took, at lag 3.4."""

    ACTORS = 16
    MAX_STEPS = 1_000_000  # about 61 versions

    @classmethod
    def setUpClass(cls):
        cls.dir = run_dir("scale")
        proc = start(cls.dir, "--actors", str(cls.ACTORS), "--learner-threads", "1",
                     "--max-env-steps", str(cls.MAX_STEPS), "--max-minutes", "3",
                     # No success target: with the start curriculum a policy can pass 95%
                     # on 20 episodes before 1M steps, and this test measures the whole budget.
                     "--target-success", "0",
                     "--eval-every-s", "10", "--eval-episodes", "20", "--progress-s", "5",
                     "--no-final-eval")
        cls.rc, cls.out, cls.err = finish(proc, cls.dir, timeout=240)
        cls.learner = metrics(cls.dir / "learner-metrics.txt")
        cls.actors = [metrics(cls.dir / f"actor-{i}-metrics.txt") for i in range(cls.ACTORS)]

    def total(self, samples, name):
        return sum(v for (n, _), v in samples.items() if n == name)

    def test_run_finished(self):
        self.assertEqual(self.rc, 0, output(self.dir))
        self.assertEqual(json.loads((self.dir / "summary.json").read_text())["stop_reason"],
                         "max_env_steps")

    def test_useful_fraction(self):
        trained = self.learner[("hoverslam_learner_env_steps_trained_total", "")]
        collected = sum(self.total(a, "hoverslam_actor_env_steps_total") for a in self.actors)
        self.assertGreaterEqual(trained, 0.9 * self.MAX_STEPS)
        # At most the next batch (8 rollouts) is in flight when the run stops: 1M / 1.016M.
        self.assertGreaterEqual(trained / collected, 0.9, f"{trained:.0f} of {collected:.0f}")
        self.assertLessEqual(collected - trained, 2 * 16384 + 2048 * self.ACTORS)

    def test_policy_lag(self):
        count = self.learner[("hoverslam_learner_policy_lag_count", "")]
        mean = self.learner[("hoverslam_learner_policy_lag_sum", "")] / count
        self.assertLessEqual(mean, 2.0)
        within_2 = self.learner[("hoverslam_learner_policy_lag_bucket", '{le="2"}')]
        self.assertEqual(within_2, count, "a trajectory was trained at lag > 2")

    def test_nothing_rejected_and_extra_actors_idle(self):
        rejected = {k: v for k, v in self.learner.items()
                    if k[0] == "hoverslam_learner_rejected_total" and v != 0}
        self.assertEqual(rejected, {})
        idle = sum(self.total(a, "hoverslam_actor_idle_seconds_total") for a in self.actors)
        busy = sum(self.total(a, "hoverslam_actor_collect_seconds_total") for a in self.actors)
        self.assertGreater(idle, 10 * busy, "16 actors on 2 cores should mostly wait")
        for i, a in enumerate(self.actors):  # nothing sent unasked (one scrape per actor)
            self.assertLessEqual(a[("hoverslam_actor_trajectories_sent_total", "")],
                                 a[("hoverslam_actor_grants_received_total", "")], f"actor-{i}")


class LauncherLunarTest(unittest.TestCase):
    """Another env end to end: every process on LunarLander, the learner with that env's own
    settings (the registry's learner_defaults), the evaluator on its episodes, and its GIF."""

    ENV = "lunar_lander_continuous"
    MAX_STEPS = 50_000

    @classmethod
    def setUpClass(cls):
        cls.dir = run_dir("lunar")
        proc = start(cls.dir, *SMALL, "--env", cls.ENV, "--max-env-steps", str(cls.MAX_STEPS),
                     "--max-minutes", "2", "--target-success", "0", "--render-episodes", "1",
                     "--learner-args", LEARNER + " --epochs 2")
        cls.rc, cls.out, cls.err = finish(proc, cls.dir, timeout=150)

    def test_trains_the_env_with_its_settings(self):
        self.assertEqual(self.rc, 0, output(self.dir))
        self.assertEqual(json.loads((self.dir / "summary.json").read_text())["stop_reason"],
                         "max_env_steps")
        log = (self.dir / "learner.log").read_text()
        for applied in ("--minibatches 256", "--adaptive-lr false", "--gamma 0.999",
                        "--entropy-coef 0.01"):
            self.assertIn(f"--env {self.ENV} sets {applied}", log)
        self.assertNotIn("sets --epochs", log, "--learner-args must win over the env's setting")
        m = metrics(self.dir / "learner-metrics.txt")
        self.assertEqual({k: v for k, v in m.items()
                          if k[0] == "hoverslam_learner_rejected_total" and v != 0}, {})
        # The budget counts what the actors collected; batches in flight at the stop go untrained.
        self.assertGreaterEqual(m[("hoverslam_learner_env_steps_trained_total", "")],
                                0.75 * self.MAX_STEPS)

    def test_evaluates_and_draws_the_env(self):
        evals = [json.loads(l) for l in (self.dir / "evals.jsonl").read_text().splitlines()]
        self.assertTrue(evals, "no periodic evaluation")
        self.assertEqual({e["eval"] for e in evals}, {self.ENV})
        final = json.loads((self.dir / "summary.json").read_text())["final_eval"]
        self.assertEqual((final["eval"], final["episodes"]), (self.ENV, 100))
        self.assertGreater(gif_frames((self.dir / "landing.gif").read_bytes()), 1)


class LauncherStopTest(unittest.TestCase):
    """Stopping from outside: Ctrl-C, a dying child, a killed launcher."""

    # No periodic checkpoints: a checkpoint on disk can only be the one written on SIGTERM.
    ARGS = [*SMALL, "--max-minutes", "2", "--no-final-eval",
            "--learner-args", LEARNER + " --checkpoint-every 100000"]

    def start_training(self, name, version=2):
        run = run_dir(name)
        proc = start(run, *self.ARGS)
        try:
            poll_until(60, lambda: learner_version(run) >= version or proc.poll() is not None,
                       f"learner version {version}")
        except AssertionError:
            proc.kill()
            raise
        self.assertIsNone(proc.poll(), output(run))
        pids = json.loads((run / "pids.json").read_text())
        self.addCleanup(kill_leftovers, proc, pids)  # a failing test leaves nothing running
        return run, proc, pids

    def assert_no_orphans(self, pids):
        for pid in [pids["learner"], *pids["actors"], pids["evaluator"]]:
            self.assertFalse(process_alive(pid), f"pid {pid} outlived the launcher")

    def test_sigint_stops_cleanly(self):
        run, proc, pids = self.start_training("sigint")
        proc.send_signal(signal.SIGINT)
        rc, out, _ = finish(proc, run, timeout=60)
        self.assertEqual(rc, 0, output(run))
        self.assertEqual(json.loads((run / "summary.json").read_text())["stop_reason"],
                         "interrupted")
        self.assertTrue(list((run / "checkpoints").glob("ckpt-*.pt")), "no final checkpoint")
        self.assertIn("learner stopping (signal)", (run / "learner.log").read_text())
        self.assertIn("stopped: interrupted", out)
        self.assert_no_orphans(pids)

    def test_second_interrupt_kills(self):
        run, proc, pids = self.start_training("second-interrupt", version=1)
        os.kill(pids["learner"], signal.SIGSTOP)  # a learner that cannot answer SIGTERM
        proc.send_signal(signal.SIGINT)
        poll_until(30, lambda: "stopping" in (run / "launcher.out").read_text(), "the stop")
        proc.send_signal(signal.SIGINT)
        rc, out, _ = finish(proc, run, timeout=15)  # well inside the 20 s grace period
        self.assertEqual(rc, 0, output(run))
        self.assertIn("second interrupt", out)
        self.assertIn("learner still running: SIGKILL", out)
        self.assert_no_orphans(pids)

    def test_dead_actor_stops_all(self):
        run, proc, pids = self.start_training("child-exit", version=1)
        os.kill(pids["actors"][1], signal.SIGKILL)
        rc, out, _ = finish(proc, run, timeout=60)
        self.assertEqual(rc, 1, output(run))
        self.assertEqual(json.loads((run / "summary.json").read_text())["stop_reason"],
                         "child_exited: actor-1 rc=-9")
        self.assertIn("actor-1 exited on its own", out)
        self.assert_no_orphans(pids)

    def test_children_die_with_launcher(self):
        run, proc, pids = self.start_training("launcher-killed", version=1)
        proc.kill()  # SIGKILL: no handler runs; PR_SET_PDEATHSIG must stop the children
        proc.wait()
        children = [pids["learner"], *pids["actors"], pids["evaluator"]]
        poll_until(30, lambda: not any(process_alive(p) for p in children), "children to exit")
        # SIGTERM, not SIGKILL: the learner still wrote its final checkpoint.
        poll_until(5, lambda: "learner stopping (signal)" in (run / "learner.log").read_text(),
                   "the learner's clean stop")
        self.assertTrue(list((run / "checkpoints").glob("ckpt-*.pt")))


class LauncherFlagsTest(unittest.TestCase):
    """Bad input is refused before anything starts, naming what is wrong."""

    def refused(self, *args):
        run = run_dir("flags")
        cmd = [sys.executable, str(LAUNCHER), "--run-dir", str(run), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertFalse(run.exists(), "a refused run created its directory")
        return r.stderr

    def test_bad_values_name_the_flag(self):
        self.assertIn("argument --actors: expected an integer >= 1, got '0'",
                      self.refused("--actors", "0"))
        self.assertIn("argument --max-minutes:", self.refused("--max-minutes", "abc"))
        self.assertIn("argument --target-success:", self.refused("--target-success", "1.5"))
        self.assertIn("unrecognized arguments: --no-such-flag", self.refused("--no-such-flag"))

    def test_launcher_owned_flags_are_refused_in_extra_args(self):
        self.assertIn("may not set --metrics-port",
                      self.refused("--learner-args", "--metrics-port 1"))
        self.assertIn("may not set --seed", self.refused("--actor-args=--seed=3"))

    def test_missing_binaries_say_build_first(self):
        empty = BUILD / "tests" / "deploy" / "empty-build"
        empty.mkdir(parents=True, exist_ok=True)
        err = self.refused("--build-dir", str(empty))
        self.assertIn("no hoverslam-learner at", err)
        self.assertIn("build first", err)

    def test_prometheus_port_is_checked(self):
        self.assertIn("argument --prometheus-port: expected a port, got '0'",
                      self.refused("--prometheus", "--prometheus-port", "0"))
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            err = self.refused("--build-dir", str(BUILD), "--prometheus", "--prometheus-port",
                               str(port))
        self.assertIn(f"--prometheus-port {port}: in use on 127.0.0.1", err)

    def test_gif_walker(self):
        # A 1x1 GIF89a with a 2-colour global table, a graphic control extension and two frames.
        head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
        control = b"\x21\xf9\x04\x00\x0a\x00\x00\x00"
        frame = control + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
        self.assertEqual(gif_frames(head + frame + frame + b"\x3b"), 2)
        with self.assertRaises(ValueError):
            gif_frames(head + frame + frame[:-3])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BUILD = Path(sys.argv[1]).resolve()
    for name in ("learner/hoverslam-learner", "actor/hoverslam-actor", "eval/hoverslam-eval"):
        if not os.access(BUILD / name, os.X_OK):
            sys.exit(f"test_launcher: {BUILD / name} is missing: build it first")
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[2:]])
