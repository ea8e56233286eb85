#!/usr/bin/env python3
"""The Grafana dashboard and the rules against a real Prometheus scraping a real run.

Usage: test_dashboard_live.py BUILD_DIR

Starts deploy/local/hoverslam-train --prometheus (learner, two actors, the evaluator and
Debian's prometheus on 127.0.0.1, every process stopped by the launcher by PID), trains for
about a minute, then runs every query of dashboards/hoverslam.json through Prometheus' HTTP API
as Grafana would with the variables on "All": every query must parse, every panel a healthy run
fills must return data, and the values must be sane (a fraction in [0, 1], counters that grow,
lag within the learner's limit). Panels for rare events are listed below with the reason they
may be empty. Also: `promtool check metrics` on every binary's /metrics, every rule group
loaded and healthy, no alert firing in this healthy run, the autoscaling rule answering, and
curves.csv / curves.png written. The run directory stays under BUILD_DIR/tests/deploy/runs/.
"""

import json
import math
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "deploy" / "local" / "hoverslam-train"
DASHBOARD = REPO / "dashboards" / "hoverslam.json"
BUILD = None  # from argv
TRAIN_S = 60  # training before the queries; the launcher runs on past them
# $__rate_interval as Grafana sets it for a data source with a 5 s scrape interval (the
# launcher's) and a 40 s query step (a 1-hour panel): max(4 x 5 s, 40 s + 5 s) = 45 s. The
# learner books its counters a whole update at a time (up to a few seconds on a loaded 2-core
# machine), so much shorter windows would make ratios jump.
RATE_INTERVAL = "45s"

# Panels a healthy run may leave empty, and why.
MAY_BE_EMPTY = {
    "Rejections": "only rejections of a reason that happened are drawn (> 0); the total is 0",
}
# Panels whose every value is a fraction of something, or of time (rate() extrapolates a
# little past a window's edges, so allow 2%).
FRACTIONS = {"Eval success", "Best eval success", "Training landing rate", "Learner balance",
             "Success rate", "Evaluation outcomes", "Useful fraction", "Learner wait fraction",
             "Actor time", "Clip fraction", "Learner time by phase", "Episode outcomes",
             "Open file descriptors"}
# Panels that must be above 0 in a run that trains.
POSITIVE = {"Env steps/s", "Policy version", "Actors up", "Collected vs trained", "Bytes sent",
            "Memory per pod", "CPU per pod", "Learning rate", "Update duration",
            "Uptime", "Useful fraction"}
# Values that only grow while the run goes on (queried twice, 10 s apart).
GROWING = {"Policy version", "Uptime"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def query(port, expr):
    """Instant query; returns (status, result or error text)."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        body = get_json(url)
    except urllib.error.HTTPError as e:  # 400: a query that does not parse
        body = json.loads(e.read().decode() or "{}")
    except OSError as e:  # Prometheus gone: every check below then fails, saying why
        return "error", f"no answer from Prometheus: {e}"
    if body.get("status") != "success":
        return "error", body.get("error", body)
    return "success", body["data"]["result"]


def as_grafana(expr):
    """The query Grafana sends with every variable on All (its allValue is .*)."""
    return (expr.replace("$namespace", ".*").replace("$pod", ".*")
            .replace("$__rate_interval", RATE_INTERVAL))


def panels():
    """(title, unit, [expr]) of every panel with queries, rows' nested panels included."""
    def walk(items):
        for p in items:
            yield p
            yield from walk(p.get("panels", []))
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], p["fieldConfig"]["defaults"]["unit"],
             [t["expr"] for t in p["targets"]])
            for p in walk(dashboard["panels"]) if p.get("targets")]


def sample_sum(text, metric):
    """Sum of every sample of `metric` (any labels) in a /metrics text."""
    pattern = re.compile(r"^" + re.escape(metric) + r"(?:\{[^}]*\})? (\S+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


def values(result):
    out = []
    for series in result:
        for v in [series["value"][1]] if "value" in series else [s[1] for s in series["values"]]:
            out.append(float(v))
    return out


class DashboardLiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.run_dir = BUILD / "tests" / "deploy" / "runs" / "dashboard-live"
        shutil.rmtree(cls.run_dir, ignore_errors=True)
        cls.run_dir.mkdir(parents=True)
        cls.port = free_port()
        cmd = [sys.executable, str(LAUNCHER), "--build-dir", str(BUILD), "--run-dir",
               str(cls.run_dir), "--actors", "2", "--learner-threads", "1", "--eval-every-s", "10",
               "--eval-episodes", "50", "--progress-s", "5", "--target-success", "0",
               "--max-minutes", "10", "--no-final-eval", "--prometheus",
               "--prometheus-port", str(cls.port), "--learner-args=--checkpoint-every 5"]
        cls.out = open(cls.run_dir / "launcher.out", "w")
        # Stopped by SIGINT once the queries are done (stop()); --max-minutes is a backstop.
        cls.launcher = subprocess.Popen(cmd, stdout=cls.out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        # Trains for TRAIN_S seconds after Prometheus sees the learner.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cls.launcher.poll() is None:
            status, result = query(cls.port, "hoverslam_learner_policy_version") \
                if cls.prometheus_up() else ("error", None)
            if status == "success" and result:
                break
            time.sleep(0.5)  # polling interval, not a synchronisation
        else:
            cls.stop()
            raise AssertionError("Prometheus never scraped the learner:\n" + cls.tail())
        time.sleep(TRAIN_S)  # the training the panels look at
        cls.first = {title: [query(cls.port, as_grafana(e)) for e in exprs]
                     for title, _, exprs in panels()}
        time.sleep(10)
        cls.second = {title: [query(cls.port, as_grafana(e)) for e in exprs]
                      for title, _, exprs in panels()}
        cls.alerts = query(cls.port, 'ALERTS{alertstate="firing"}')
        cls.desired = query(cls.port, "hoverslam:actors_desired")
        cls.rules = get_json(f"http://127.0.0.1:{cls.port}/api/v1/rules")
        cls.targets = get_json(f"http://127.0.0.1:{cls.port}/api/v1/targets")
        cls.scrapes = {}
        # The learner first: the actors' counters, read after it, can only have grown since.
        for t in sorted(cls.targets["data"]["activeTargets"],
                        key=lambda t: t["labels"]["pod"] != "learner"):
            url = t["scrapeUrl"]
            with urllib.request.urlopen(url, timeout=5) as r:
                cls.scrapes[t["labels"]["pod"]] = r.read().decode()
        cls.stop()

    @classmethod
    def prometheus_up(cls):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{cls.port}/-/ready", timeout=1):
                return True
        except OSError:
            return False

    @classmethod
    def stop(cls):
        """SIGINT, as Ctrl-C: the launcher stops every child by PID, Prometheus last."""
        if cls.launcher.poll() is None:
            cls.launcher.send_signal(2)
        try:
            cls.rc = cls.launcher.wait(timeout=90)
        except subprocess.TimeoutExpired:
            cls.launcher.kill()
            cls.rc = cls.launcher.wait()
        cls.out.close()

    @classmethod
    def tail(cls):
        return "\n".join((cls.run_dir / "launcher.out").read_text().splitlines()[-20:])

    def test_every_query_parses(self):
        for title, results in self.first.items():
            for status, result in results:
                self.assertEqual(status, "success", f"panel {title!r}: {result}")

    def test_healthy_panels_have_data(self):
        empty = [title for title, results in self.second.items()
                 if not any(status == "success" and result for status, result in results)]
        unexpected = [t for t in empty if t not in MAY_BE_EMPTY]
        self.assertEqual(unexpected, [], "panels without data in a healthy run")

    def test_values_are_sane(self):
        units = {title: unit for title, unit, _ in panels()}
        for title, results in self.second.items():
            vs = [v for status, result in results if status == "success" for v in values(result)]
            with self.subTest(panel=title):
                self.assertTrue(all(math.isfinite(v) for v in vs), f"{title}: {vs}")
                if title in FRACTIONS:
                    self.assertTrue(all(-1e-9 <= v <= 1.02 for v in vs), f"{title}: {vs}")
                if title in POSITIVE:
                    self.assertTrue(vs and all(v > 0 for v in vs), f"{title}: {vs}")
                if units[title] in ("s", "bytes", "Bps", "cps"):
                    self.assertTrue(all(v >= 0 for v in vs), f"{title}: {vs}")

    def test_counts_grow(self):
        for title in GROWING:
            before = max(values(self.first[title][0][1]))
            after = max(values(self.second[title][0][1]))
            self.assertGreater(after, before, title)

    def test_numbers_agree_with_the_run(self):
        def single(title, target=0):
            vs = values(self.second[title][target][1])
            self.assertEqual(len(vs), 1, f"{title}: {vs}")
            return vs[0]
        self.assertEqual(single("Actors up"), 2)
        # Credit flow trains everything at lag 1: p90 interpolates to 0.9 inside (0, 1].
        p90 = single("Policy lag", 1)
        self.assertLessEqual(p90, 1)
        self.assertEqual(single("Policy lag", 3), 4)  # the learner's default limit
        # Evaluations every 10 s: the newest is recent (absent before the first).
        self.assertLess(single("Time since evaluation"), 30)
        # Checkpoints every 5 versions, several versions a second: never a minute old.
        self.assertLess(single("Time since checkpoint"), 60)
        # CPU per pod: four processes, none above the machine's cores.
        cpu = values(self.second["CPU per pod"][0][1])
        self.assertEqual(len(cpu), 4, cpu)
        self.assertTrue(all(c <= (len(__import__("os").sched_getaffinity(0)) + 0.1)
                            for c in cpu), cpu)
        # The Useful fraction panel shows at most 1 (a window can see a batch's lead); the
        # run's totals must agree without that: the learner never trains more steps than the
        # actors collected, read after it, and with credit flow almost all of them.
        trained = sample_sum(self.scrapes["learner"], "hoverslam_learner_env_steps_trained_total")
        collected = sum(sample_sum(self.scrapes[a], "hoverslam_actor_env_steps_total")
                        for a in ("actor-0", "actor-1"))
        self.assertGreater(trained, 0)
        self.assertLessEqual(trained, collected)
        self.assertGreater(trained / collected, 0.9, f"{trained} of {collected}")
        # The learner's phases account for its wall time (rate() extrapolation: +-10%).
        phases = sum(values(self.second["Learner time by phase"][0][1]))
        self.assertGreater(phases, 0.85)
        self.assertLess(phases, 1.1)

    def test_promtool_accepts_every_binary(self):
        self.assertEqual(sorted(self.scrapes), ["actor-0", "actor-1", "evaluator", "learner"])
        for pod, text in self.scrapes.items():
            r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               capture_output=True)
            self.assertEqual(r.returncode, 0, f"{pod}: {r.stdout}{r.stderr}")
            self.assertIn("process_cpu_seconds_total", text)
            binary = pod if pod in ("learner", "evaluator") else "actor"
            self.assertRegex(text, r'hoverslam_build_info\{binary="' + binary +
                             r'",commit="[^"]+",protocol="\d+",version="[^"]+"\} 1')

    def test_rules_load_and_no_alert_fires(self):
        groups = self.rules["data"]["groups"]
        self.assertEqual(sorted(g["name"] for g in groups),
                         ["hoverslam-alerts", "hoverslam-scaling"])
        for g in groups:
            for rule in g["rules"]:
                self.assertEqual(rule["health"], "ok", f"{rule['name']}: {rule.get('lastError')}")
        status, firing = self.alerts
        self.assertEqual(status, "success")
        self.assertEqual([a["metric"]["alertname"] for a in firing], [])
        status, desired = self.desired
        self.assertEqual(status, "success")
        self.assertEqual(len(desired), 1, "hoverslam:actors_desired")

    def test_curves_written(self):
        self.assertEqual(self.rc, 0, self.tail())
        rows = (self.run_dir / "curves.csv").read_text().splitlines()
        self.assertEqual(rows[0], "elapsed_s,env_steps,series,value")
        series = {r.split(",")[2] for r in rows[1:]}
        self.assertLessEqual({"eval_success", "eval_return", "steps_per_s", "lag_mean",
                              "train_return"}, series)
        if (BUILD / "eval" / "hoverslam-plot").exists():
            png = (self.run_dir / "curves.png").read_bytes()
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    BUILD = Path(sys.argv[1]).resolve()
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
