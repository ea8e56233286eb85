"""A real Prometheus on a local run (hoverslam-train --prometheus), so the Grafana dashboard
(dashboards/hoverslam.json) and the alert and scaling rules (deploy/prometheus) work against a
laptop run as they do on a cluster.

Each process is a target labelled as the Kubernetes PodMonitor labels its pod: namespace
"local", pod (learner, actor-<i>, evaluator) and app_kubernetes_io_component, so the
dashboard's $namespace and $pod variables and the rules' `by (namespace)` find it. Data lives
in the run directory (prometheus/data); the same command line browses it after the run.
Python 3 standard library only.
"""

import shutil
import socket
import urllib.request
from pathlib import Path

NAMESPACE = "local"
SCRAPE_INTERVAL = "5s"  # a laptop run is short: 4 samples per $__rate_interval of 20 s
EVALUATION_INTERVAL = "15s"


def find_binary():
    """The prometheus server: on PATH or Debian's /usr/bin/prometheus; None when missing."""
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)


def config_text(targets, rule_files):
    """prometheus.yml for `targets`, [(pod, component, metrics port)], loading `rule_files`."""
    lines = ["# Written by hoverslam-train --prometheus.",
             "global:",
             f"  scrape_interval: {SCRAPE_INTERVAL}",
             f"  evaluation_interval: {EVALUATION_INTERVAL}",
             "rule_files:"]
    lines += [f"  - {str(f)!r}" for f in rule_files] or ["  []"]
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


def command(binary, config, data_dir, port):
    return [str(binary), f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def ready(port, timeout=1.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False
