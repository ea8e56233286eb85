#!/usr/bin/env python3
"""Fault suite: the real learner and actors of a build, over tcp, under the faults a shared
cluster produces. Each case asserts what holds afterwards: training advances, no checkpoint is
lost, versions never go backwards.

Usage: test_faults.py BUILD_DIR [unittest names...]

The network cases (a silent partition, a learner that comes back on another address under the
same name) put an actor in its own network namespace, joined to this one by a veth pair, and drop
its packets with iptables: they need root and iproute2, and are skipped (exit 77 when every
selected case skipped) without them. Logs stay under BUILD_DIR/tests/faults/runs/ for a failure's
post-mortem.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
from pathlib import Path

BUILD = None  # set from argv in __main__
RUNS = None
LOGS = None  # the running case's directory under RUNS (set by FaultTest.setUp)

# Small batches so versions come every few tenths of a second on 2 cores, and checkpoints often,
# so a kill lands between two of them.
LEARNER_FLAGS = ["--threads", "1", "--batch-transitions", "2048", "--checkpoint-every", "5",
                 "--republish-interval", "0.5", "--health-timeout", "60"]
ACTOR_FLAGS = ["--num-envs", "8", "--steps-per-message", "64", "--log-interval", "2"]
# ZMTP heartbeats: a silent peer is dropped after HEARTBEAT_TIMEOUT_S (the actor's flags).
HEARTBEAT_TIMEOUT_S = 3
HEARTBEAT = ["--zmq-heartbeat-ivl", "1000", "--zmq-heartbeat-timeout",
             str(HEARTBEAT_TIMEOUT_S * 1000)]


# ---------------------------------------------------------------------------------------------
# Helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll_until(timeout_s, done, what):
    """Calls done() until it returns a true value, which is returned; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)  # polling interval, not a synchronisation


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def scrape(host, port):
    """{(name, labels): value} from /metrics, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    samples = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def metric(samples, name, labels=""):
    return None if samples is None else samples.get((name, labels))


class Proc:
    """A child process with its output in a log file; killed (SIGKILL) by stop() if alive."""

    def __init__(self, name, argv, netns=None):
        self.name = name
        self.log = LOGS / f"{name}.log"
        prefix = ["ip", "netns", "exec", netns] if netns else []
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(prefix + argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL)

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        self.popen.send_signal(sig)

    def stop(self):
        if self.alive():
            self.popen.send_signal(signal.SIGCONT)
            self.popen.kill()
        self.popen.wait()

    def tail(self, lines=20):
        if not self.log.exists():
            return ""
        return f"--- {self.name}\n" + "\n".join(self.log.read_text(errors="replace")
                                                 .splitlines()[-lines:]) + "\n"


class Learner:
    def __init__(self, name, ckpt, bind="127.0.0.1", ports=None, extra=()):
        self.bind = bind
        self.ports = ports or (free_port(), free_port())
        self.metrics_port = free_port()
        self.ckpt = ckpt
        self.proc = Proc(name, [str(BUILD / "learner" / "hoverslam-learner"), "--bind", bind,
                                "--trajectory-port", str(self.ports[0]),
                                "--weights-port", str(self.ports[1]),
                                "--metrics-port", str(self.metrics_port),
                                "--checkpoint-dir", str(ckpt), *LEARNER_FLAGS, *HEARTBEAT,
                                *extra])

    def metrics(self):
        return scrape("127.0.0.1", self.metrics_port)

    def version(self):
        return metric(self.metrics(), "hoverslam_learner_policy_version")

    def received(self):
        return metric(self.metrics(), "hoverslam_learner_trajectories_received_total")


class Actor:
    def __init__(self, name, learner_host, ports, netns=None, metrics_host="127.0.0.1"):
        self.metrics_port = free_port()
        self.metrics_host = metrics_host
        self.proc = Proc(name, [str(BUILD / "actor" / "hoverslam-actor"), "--learner",
                                learner_host, "--trajectory-port", str(ports[0]),
                                "--weights-port", str(ports[1]), "--metrics-port",
                                str(self.metrics_port), "--actor-id", name, *ACTOR_FLAGS,
                                *HEARTBEAT], netns=netns)

    def metrics(self):
        return scrape(self.metrics_host, self.metrics_port)

    def version(self):
        return metric(self.metrics(), "hoverslam_actor_policy_version")

    def sent(self):
        return metric(self.metrics(), "hoverslam_actor_trajectories_sent_total")

    def weights_age(self):
        return metric(self.metrics(), "hoverslam_actor_weights_age_seconds")


class VersionWatch:
    """Samples every actor's and learner's policy_version gauge in a thread: the sequences must
    never go down (a restarted learner must not re-publish a version number it used)."""

    def __init__(self, sources):
        self.sources = sources  # name -> callable returning a version or None
        self.seen = {name: [] for name in sources}
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            for name, read in self.sources.items():
                v = read()
                # 0 is a process that has not published or adopted a version yet (a learner
                # between its start and its restore), not a version.
                if v and (not self.seen[name] or self.seen[name][-1] != v):
                    self.seen[name].append(v)
            time.sleep(0.05)  # sampling period

    def stop(self):
        self.stopping = True
        self.thread.join()

    def backwards(self):
        return {name: seq for name, seq in self.seen.items()
                if any(b < a for a, b in zip(seq, seq[1:]))}


def settled(read, seconds):
    """Whether read() gives the same value over `seconds`."""
    first = read()
    time.sleep(seconds)  # the observation window itself
    return first is not None and read() == first


def checkpoints(ckpt):
    return sorted(p.name for p in Path(ckpt).glob("ckpt-*.pt"))


def checkpoint_version(name):
    return int(name[len("ckpt-"):-len(".pt")])


# ---------------------------------------------------------------------------------------------
# Network namespaces (root only)

def can_use_netns():
    return (os.geteuid() == 0 and shutil.which("ip") and shutil.which("iptables")
            and subprocess.run(["ip", "netns", "list"], capture_output=True).returncode == 0)


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


class ActorNetns:
    """A network namespace for one actor, on a veth pair: this side HOST_IPS, that side
    ACTOR_IP. Its /etc/hosts (ip netns exec bind-mounts /etc/netns/NAME/hosts) maps the name
    `learner`, rewritten in place to move the learner."""

    HOST_IPS = ("10.231.0.1", "10.231.0.3")
    ACTOR_IP = "10.231.0.2"

    def __init__(self):
        self.name = f"hsfault{os.getpid()}"
        self.veth = f"hsf{os.getpid() % 100000}"
        self.etc = Path("/etc/netns") / self.name
        sh("ip", "netns", "add", self.name)
        try:
            sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", self.veth + "p")
            sh("ip", "link", "set", self.veth + "p", "netns", self.name)
            for ip in self.HOST_IPS:
                sh("ip", "addr", "add", f"{ip}/24", "dev", self.veth)
            sh("ip", "link", "set", self.veth, "up")
            inside = ["ip", "netns", "exec", self.name]
            sh(*inside, "ip", "addr", "add", f"{self.ACTOR_IP}/24", "dev", self.veth + "p")
            sh(*inside, "ip", "link", "set", self.veth + "p", "up")
            sh(*inside, "ip", "link", "set", "lo", "up")
            self.etc.mkdir(parents=True, exist_ok=True)
            self.point_learner_at(self.HOST_IPS[0])
        except Exception:
            self.close()
            raise

    def point_learner_at(self, ip):
        # In place (same inode): the bind mount of a running `ip netns exec` keeps the inode.
        with open(self.etc / "hosts", "w") as f:
            f.write(f"127.0.0.1 localhost\n{ip} learner\n")

    def partition(self, ip, ports):
        """Drops, silently, every packet between the actor and ip's learner ports."""
        for chain, direction in (("OUTPUT", "--dport"), ("INPUT", "--sport")):
            flag = "-d" if chain == "OUTPUT" else "-s"
            sh("ip", "netns", "exec", self.name, "iptables", "-A", chain, "-p", "tcp", flag, ip,
               "-m", "multiport", direction.replace("port", "ports"),
               f"{ports[0]},{ports[1]}", "-j", "DROP")

    def heal(self):
        for chain in ("OUTPUT", "INPUT"):
            sh("ip", "netns", "exec", self.name, "iptables", "-F", chain)

    def close(self):
        subprocess.run(["ip", "link", "del", self.veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The cases

class FaultTest(unittest.TestCase):
    def setUp(self):
        global LOGS
        self.procs = []
        self.cleanups = []
        LOGS = RUNS / self.id().split(".")[-1]
        shutil.rmtree(LOGS, ignore_errors=True)
        self.ckpt = LOGS / "ckpt"
        self.ckpt.mkdir(parents=True)

    def tearDown(self):
        for p in self.procs:
            p.stop()
        for cleanup in reversed(self.cleanups):
            cleanup()

    def logs(self):
        return "".join(p.tail() for p in self.procs)

    def track(self, thing):
        self.procs.append(thing.proc)
        return thing

    def wait_for(self, timeout_s, done, what):
        try:
            return poll_until(timeout_s, done, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.logs()}") from None

    def advances(self, learner, by, timeout_s, what):
        """Waits until the learner's version is `by` above what it is now; returns it."""
        start = self.wait_for(30, learner.version, f"{learner.proc.name} metrics")
        return self.wait_for(timeout_s, lambda: (learner.version() or 0) >= start + by and
                             learner.version(), f"{what}: version {start} + {by}")

    def start_cluster(self, actors=2, **learner_args):
        learner = self.track(Learner("learner", self.ckpt, **learner_args))
        team = [self.track(Actor(f"actor-{i}", "127.0.0.1", learner.ports))
                for i in range(actors)]
        self.advances(learner, 3, 90, "first versions")
        return learner, team

    def test_actor_killed(self):
        learner, (a, b) = self.start_cluster()
        a.proc.signal(signal.SIGKILL)
        a.proc.popen.wait()
        # The other actor alone keeps the learner training...
        self.advances(learner, 5, 60, "training after an actor was killed")
        self.assertTrue(b.proc.alive(), self.logs())
        # ...and a replacement under the same id is taken at once.
        before = learner.received()
        c = self.track(Actor("actor-0", "127.0.0.1", learner.ports))
        self.wait_for(30, lambda: (c.sent() or 0) >= 2, "the replacement's trajectories")
        self.wait_for(30, lambda: learner.received() > before + 2, "accepted trajectories")
        self.assertEqual(metric(learner.metrics(), "hoverslam_learner_rejected_total",
                                '{reason="malformed"}'), 0)

    def test_learner_killed_and_restarted(self):
        learner, team = self.start_cluster()
        watch = VersionWatch({"learner": learner.version,
                              **{a.proc.name: a.version for a in team}})
        self.cleanups.append(watch.stop)
        self.wait_for(60, lambda: checkpoints(self.ckpt), "a checkpoint")
        self.advances(learner, 3, 60, "versions past the checkpoint")
        learner.proc.signal(signal.SIGKILL)
        learner.proc.popen.wait()
        highest = max(max(seq) for seq in watch.seen.values() if seq)
        newest = checkpoints(self.ckpt)[-1]

        # Same ports, same checkpoint directory; the actors are not restarted.
        restarted = time.monotonic()
        second = self.track(Learner("learner-restarted", self.ckpt, ports=learner.ports))
        watch.sources["learner"] = second.version
        first = self.wait_for(30, second.version, "the restarted learner's metrics")
        self.assertGreater(first, highest, "the restarted learner re-used a published version")
        # No checkpoint lost: the restart resumed from the newest one on disk at the kill.
        resumed = re.compile(rf"resumed from \S*{newest}")
        self.wait_for(30, lambda: resumed.search(second.proc.log.read_text()),
                      f"the restart to resume from {newest}")
        self.wait_for(60, lambda: (second.version() or 0) > first, "a new version")
        print(f"restarted learner: first version {first:.0f} (highest before the kill "
              f"{highest:.0f}), next update {time.monotonic() - restarted:.1f} s after the restart")
        self.advances(second, 5, 90, "training after the restart")
        for a in team:
            self.assertTrue(a.proc.alive(), f"{a.proc.name} died\n{self.logs()}")
            self.wait_for(30, lambda: (a.version() or 0) > highest, f"{a.proc.name} new weights")
        sent = [a.sent() for a in team]
        self.wait_for(30, lambda: all(a.sent() > s for a, s in zip(team, sent)),
                      "both actors still sending")
        watch.stop()
        self.assertEqual(watch.backwards(), {}, "a policy version went backwards")

    def test_learner_frozen(self):
        learner, team = self.start_cluster()
        frozen_at = learner.version()
        learner.proc.signal(signal.SIGSTOP)
        # Past the heartbeat timeout: actors drop the connection; their watchdog shows the age.
        self.wait_for(30, lambda: all((a.weights_age() or 0) >= HEARTBEAT_TIMEOUT_S + 2
                                      for a in team), "weights age to grow on every actor")
        for a in team:
            self.assertTrue(a.proc.alive(), self.logs())
        learner.proc.signal(signal.SIGCONT)
        resumed = time.monotonic()
        self.wait_for(60, lambda: (learner.version() or 0) > frozen_at, "a version after SIGCONT")
        print(f"first new version {time.monotonic() - resumed:.1f} s after SIGCONT")
        self.advances(learner, 5, 60, "training after SIGCONT")
        self.assertGreater(learner.version(), frozen_at)
        self.wait_for(30, lambda: all((a.weights_age() or 99) < 2 for a in team),
                      "actors to pick up new weights")

    def test_actor_stops_while_learner_frozen(self):
        learner, (a, b) = self.start_cluster()
        learner.proc.signal(signal.SIGSTOP)
        # The actor waits for a grant the frozen learner cannot send (or, holding one, blocks in
        # send): its count stops moving.
        self.wait_for(30, lambda: settled(a.sent, 1.0), "the actor to stop sending")
        start = time.monotonic()
        a.proc.signal(signal.SIGTERM)
        try:
            rc = a.proc.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.fail(f"actor still running 2 s after SIGTERM\n{self.logs()}")
        took = time.monotonic() - start
        self.assertEqual(rc, 0, self.logs())
        print(f"actor exited {took:.2f} s after SIGTERM with the learner frozen")
        learner.proc.signal(signal.SIGCONT)
        self.advances(learner, 3, 60, "training after SIGCONT with one actor")

    # -- network cases ---------------------------------------------------------------------

    def netns(self):
        if not can_use_netns():
            self.skipTest("needs root, iproute2 and iptables (network namespaces)")
        ns = ActorNetns()
        self.cleanups.append(ns.close)
        return ns

    def test_silent_partition(self):
        ns = self.netns()
        learner = self.track(Learner("learner", self.ckpt, bind="0.0.0.0"))
        local = self.track(Actor("actor-local", "127.0.0.1", learner.ports))
        remote = self.track(Actor("actor-netns", ns.HOST_IPS[0], learner.ports, netns=ns.name,
                                   metrics_host=ns.ACTOR_IP))
        self.advances(learner, 3, 90, "first versions")
        self.wait_for(30, lambda: (remote.sent() or 0) >= 2, "the namespaced actor sending")

        ns.partition(ns.HOST_IPS[0], learner.ports)
        # The learner trains on with the local actor; the partitioned one sees its weights age.
        self.advances(learner, 5, 60, "training during the partition")
        self.wait_for(30, lambda: (remote.weights_age() or 0) > HEARTBEAT_TIMEOUT_S + 2,
                      "the partitioned actor's weights to age")
        disconnects = metric(remote.metrics(), "hoverslam_actor_disconnects_total")
        ns.heal()
        healed = time.monotonic()
        target = learner.version()
        self.wait_for(60, lambda: (remote.version() or 0) >= target,
                      "the partitioned actor to catch up after the heal")
        sent = remote.sent()
        self.wait_for(30, lambda: remote.sent() > sent, "the partitioned actor sending again")
        print(f"partitioned actor back on the newest weights {time.monotonic() - healed:.1f} s "
              f"after the heal (disconnects seen: {disconnects})")
        self.assertTrue(local.proc.alive() and remote.proc.alive(), self.logs())

    def test_learner_moves_to_another_address(self):
        ns = self.netns()
        ports = (free_port(), free_port())
        old_ip, new_ip = ns.HOST_IPS
        first = self.track(Learner("learner", self.ckpt, bind=old_ip, ports=ports))
        actor = self.track(Actor("actor-netns", "learner", ports, netns=ns.name,
                                 metrics_host=ns.ACTOR_IP))
        self.advances(first, 5, 90, "first versions")
        self.wait_for(60, lambda: checkpoints(self.ckpt), "a checkpoint")
        # The old address goes silent (no FIN, no RST reaches the actor) and the learner dies
        # there; it comes back on another address under the same name.
        ns.partition(old_ip, ports)
        last = first.version()
        first.proc.signal(signal.SIGKILL)
        first.proc.popen.wait()
        ns.point_learner_at(new_ip)
        moved = time.monotonic()
        second = self.track(Learner("learner-moved", self.ckpt, bind=new_ip, ports=ports))
        self.wait_for(60, lambda: (second.received() or 0) >= 3,
                      "the actor's trajectories at the new address")
        self.wait_for(30, lambda: (actor.version() or 0) > last,
                      "the actor on the moved learner's weights")
        self.advances(second, 3, 60, "training at the new address")
        print(f"actor followed the learner to {new_ip} in {time.monotonic() - moved:.1f} s")


if __name__ == "__main__":
    BUILD = Path(sys.argv.pop(1)).resolve()
    RUNS = BUILD / "tests" / "faults" / "runs"
    RUNS.mkdir(parents=True, exist_ok=True)
    result = unittest.main(exit=False, verbosity=2).result
    if not result.wasSuccessful():
        sys.exit(1)
    ran = result.testsRun - len(result.skipped)
    sys.exit(77 if result.testsRun and ran == 0 else 0)
