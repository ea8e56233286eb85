"""A real Prometheus on a local run (hoverslam-train --prometheus), so the Grafana dashboard
(dashboards/hoverslam.json) and the alert and scaling rules (deploy/prometheus) work against a
laptop run as they do on a cluster.

Each process is a target labelled as the Kubernetes PodMonitor labels its pod: namespace
"local", pod (learner, actor-<i>, evaluator) and app_kubernetes_io_component, so the
dashboard's $namespace and $pod variables and the rules' `by (namespace)` find it. Data lives
in the run directory (prometheus/data); after the run a second configuration, without targets
or rules, serves it for browsing (the first would scrape dead ports and fire LearnerDown).
Python 3 standard library only.
"""

import shlex
import shutil
import signal
import socket
import subprocess
from pathlib import Path

NAMESPACE = "local"
SCRAPE_INTERVAL = "5s"  # a laptop run is short: 4 samples per $__rate_interval of 20 s
EVALUATION_INTERVAL = "15s"


def find_binary():
    """The prometheus server: on PATH or Debian's /usr/bin/prometheus; None when missing."""
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def config_text(targets, rule_files):
    """prometheus.yml for `targets`, [(pod, component, metrics port)], loading `rule_files`."""
    lines = ["# Written by hoverslam-train --prometheus.",
             "global:",
             f"  scrape_interval: {SCRAPE_INTERVAL}",
             f"  evaluation_interval: {EVALUATION_INTERVAL}"]
    if rule_files:
        lines += ["rule_files:"] + [f"  - {str(f)!r}" for f in rule_files]
    if targets:
        lines += ["scrape_configs:",
                  "  - job_name: hoverslam",
                  "    static_configs:"]
    for pod, component, port in targets:
        lines += [f"      - targets: ['127.0.0.1:{port}']",
                  "        labels:",
                  f"          namespace: {NAMESPACE}",
                  f"          pod: {pod}",
                  f"          app_kubernetes_io_component: {component}"]
    return "\n".join(lines) + "\n"


class LocalPrometheus:
    """Prometheus for one run: started by start(), stopped by stop(); `spawn(name, cmd, log)`
    makes the launcher's Child, so it gets the same process group and death signal."""

    def __init__(self, binary, home, port, targets, rule_files):
        self.binary, self.home, self.port = binary, Path(home), port
        self.targets, self.rule_files = targets, rule_files
        self.child = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self, config):
        return [str(self.binary), f"--config.file={config}",
                f"--storage.tsdb.path={self.home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]

    def start(self, spawn, write):
        self.home.mkdir(exist_ok=True)
        config = self.home / "prometheus.yml"
        write(config, config_text(self.targets, self.rule_files))
        write(self.home / "browse.yml", config_text([], []))
        self.child = spawn("prometheus", self.command(config), self.home / "prometheus.log")

    def running(self):
        return self.child is not None and self.child.running()

    def stop(self, grace_s):
        """SIGTERM (Prometheus flushes its head block), SIGKILL after grace_s."""
        if not self.running():
            return
        self.child.signal(signal.SIGTERM)
        try:
            self.child.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.child.signal(signal.SIGKILL)
            self.child.proc.wait()

    def browse_command(self):
        """Serves the run's data again, without scraping or alerting."""
        return shlex.join(self.command(self.home / "browse.yml"))
