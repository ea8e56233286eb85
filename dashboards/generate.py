#!/usr/bin/env python3
"""Writes the Grafana dashboard dashboards/hoverslam.json and its Kubernetes ConfigMap
(deploy/k8s/components/monitoring/grafana-dashboard.yaml) from the panel list below.

    dashboards/generate.py           write both files
    dashboards/generate.py --check   exit 1 if either differs from what would be written

The panels are data here and the layout is computed, so a panel added in the middle moves the
rest down instead of overlapping them. Every query selects by metric name and the dashboard's
variables only ($namespace, $pod), so it works on any Prometheus that scrapes hoverslam: the
kube-prometheus-stack (PodMonitor in components/monitoring) or a local run
(deploy/local/hoverslam-train --prometheus). Python 3 standard library only.
"""

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "dashboards" / "hoverslam.json"
CONFIGMAP = REPO / "deploy" / "k8s" / "components" / "monitoring" / "grafana-dashboard.yaml"

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'namespace=~"$namespace", pod=~"$pod"'  # every selector carries it
RI = "$__rate_interval"


def sel(metric, extra=""):
    return f"{metric}{{{SEL}{', ' + extra if extra else ''}}}"


def rate(metric, extra=""):
    return f"rate({sel(metric, extra)}[{RI}])"


def quantile(q, metric):
    return f"histogram_quantile({q}, sum by (le) ({rate(metric + '_bucket')}))"


# ---------------------------------------------------------------------------------------------
# Panels: (type, title, description, unit, targets, extra), laid out in rows of width 24.
# targets: [(expr, legend)]; extra: min/max/stacking/mappings/thresholds/width/height.

def ts(title, description, unit, targets, **extra):
    return {"type": "timeseries", "title": title, "description": description, "unit": unit,
            "targets": targets, **extra}


def stat(title, description, unit, expr, **extra):
    return {"type": "stat", "title": title, "description": description, "unit": unit,
            "targets": [(expr, title)], "w": 3, "h": 4, **extra}


def heatmap(title, description, unit, metric):
    expr = f"sum by (le) (increase({sel(metric + '_bucket')}[{RI}]))"
    return {"type": "heatmap", "title": title, "description": description, "unit": unit,
            "targets": [(expr, "{{le}}")], "format": "heatmap"}


PERCENT_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 0.5},
                 {"color": "green", "value": 0.9}]
LEARNER_WAIT = f"sum({rate('hoverslam_learner_wait_seconds_total')})"
EPISODES = "hoverslam_learner_episodes_total"
LANDED = 'outcome="landed"'
ACTOR_BINARY = 'binary="actor"'
ACTORS = "count(" + sel("hoverslam_actor_collect_seconds_total") + ")"

ROWS = [
    ("Overview", [
        stat("Eval success", "Landed fraction of the newest held-out evaluation "
             "(hoverslam-eval --watch).", "percentunit",
             f"max({sel('hoverslam_eval_success_rate')})", steps=PERCENT_STEPS),
        stat("Best eval success", "Best evaluation of the run: the policy in best.msgpack.",
             "percentunit", f"max({sel('hoverslam_eval_best_success_rate')})",
             steps=PERCENT_STEPS),
        stat("Training landing rate", "Landed fraction of the training episodes that ended in "
             "the window, as the actors reported them (with exploration noise).", "percentunit",
             f"sum({rate(EPISODES, LANDED)}) / sum({rate(EPISODES)})",
             steps=PERCENT_STEPS),
        stat("Mean return", "Mean undiscounted return of training episodes that ended in the "
             "window.", "none",
             f"sum({rate('hoverslam_learner_episode_return_sum')}) / "
             f"sum({rate('hoverslam_learner_episode_return_count')})", decimals=1),
        stat("Env steps/s", "Environment steps trained on per second (the learner's "
             "throughput).", "short", f"sum({rate('hoverslam_learner_env_steps_trained_total')})"),
        stat("Policy version", "Newest policy version: one per PPO update.", "none",
             f"max({sel('hoverslam_learner_policy_version')})"),
        stat("Actors up", "Actor processes whose /metrics the last scrape reached (an actor "
             "that stops answering counts 0, then drops out).", "none",
             f"sum({sel('up')} and on (namespace, pod) last_over_time("
             f"{sel('hoverslam_build_info', ACTOR_BINARY)}[{RI}]))"),
        stat("Learner balance", "Fraction of time the learner waits for data. Starved (> 50%): "
             "more actors would train faster. Saturated (< 5%): the learner is the bottleneck "
             "and idle actors are spare.", "percentunit", LEARNER_WAIT,
             mappings=[{"type": "range", "options": {"from": 0.5, "to": 1e9, "result": {
                 "text": "starved", "color": "orange", "index": 0}}},
                       {"type": "range", "options": {"from": 0.05, "to": 0.499999, "result": {
                           "text": "balanced", "color": "green", "index": 1}}},
                       {"type": "range", "options": {"from": -1e9, "to": 0.049999, "result": {
                           "text": "saturated", "color": "blue", "index": 2}}}]),
        ts("Success rate", "Held-out evaluation success (newest and best) and the training "
           "landing rate.", "percentunit",
           [(f"max({sel('hoverslam_eval_success_rate')})", "eval"),
            (f"max({sel('hoverslam_eval_best_success_rate')})", "best eval"),
            (f"sum({rate(EPISODES, LANDED)}) / sum({rate(EPISODES)})",
             "training")], min=0, max=1),
        ts("Return", "Mean return of the newest evaluation and of training episodes.", "none",
           [(f"max({sel('hoverslam_eval_mean_return')})", "eval"),
            (f"sum({rate('hoverslam_learner_episode_return_sum')}) / "
             f"sum({rate('hoverslam_learner_episode_return_count')})", "training")]),
        ts("Evaluation outcomes", "Outcomes of the newest evaluation's episodes.",
           "percentunit", [(f"max by (outcome) ({sel('hoverslam_eval_outcome_rate')})",
                            "{{outcome}}")], min=0, max=1, stack=True, w=8),
        ts("Touchdown speed", "Mean speed at ground contact in the newest evaluation "
           "(a landing needs |vx| and |vy| <= 0.7 m/s).", "velocityms",
           [(f"max({sel('hoverslam_eval_mean_touchdown_speed_meters_per_second')})",
             "touchdown speed")], min=0, w=8),
        ts("Time since evaluation", "Seconds since the evaluator last finished an "
           "evaluation; it evaluates the newest weights every --every-s.", "s",
           [(f"time() - (max({sel('hoverslam_eval_last_evaluation_timestamp_seconds')}) > 0)",
             "since evaluation")], min=0, w=8),
    ]),
    ("Data flow", [
        ts("Collected vs trained", "Env steps per second collected by all actors and trained "
           "on by the learner. Credit flow keeps them equal; a gap is data thrown away.", "short",
           [(f"sum({rate('hoverslam_actor_env_steps_total')})", "collected"),
            (f"sum({rate('hoverslam_learner_env_steps_trained_total')})", "trained")], w=8),
        # The learner books a whole batch when it has trained it, the actors each step as they
        # take it: over one window the trained count can lead the collected one by up to a
        # batch (4% was seen in a 45 s window), which is timing, not data trained twice.
        ts("Useful fraction", "Trained / collected env steps: 1 when no data is wasted. The "
           "learner counts a batch once trained, actors count as they step, so a window can "
           "see a batch's lead; shown at most 1.", "percentunit",
           [(f"clamp_max(sum({rate('hoverslam_learner_env_steps_trained_total')}) / "
             f"sum({rate('hoverslam_actor_env_steps_total')}), 1)", "useful")],
           min=0, max=1, w=8),
        ts("Learner wait fraction", "Fraction of time the PPO loop waits for data. High: add "
           "actors (the autoscaler does). Near 0: the learner is the bottleneck.", "percentunit",
           [(LEARNER_WAIT, "learner waiting")], min=0, max=1, w=8),
        ts("Actor time", "Where an average actor's time goes: collecting (busy), idle (not "
           "asked: spare capacity), waiting for granted weights, blocked sending.", "percentunit",
           [(f"sum({rate(m)}) / {ACTORS}", legend) for m, legend in [
               ("hoverslam_actor_collect_seconds_total", "busy"),
               ("hoverslam_actor_idle_seconds_total", "idle"),
               ("hoverslam_actor_weights_wait_seconds_total", "weights wait"),
               ("hoverslam_actor_send_blocked_seconds_total", "send blocked")]],
           min=0, max=1, stack=True, w=8),
        ts("Queue and credits", "Trajectories queued at the learner, grants in flight and "
           "actors waiting idle for a grant.", "none",
           [(f"max({sel('hoverslam_learner_queue_depth')})", "queued"),
            (f"max({sel('hoverslam_learner_credits_in_flight')})", "credits in flight"),
            (f"max({sel('hoverslam_learner_ready_actors')})", "ready actors")], min=0, w=8),
        ts("Bytes sent", "Trajectory bytes per second sent by all actors.", "Bps",
           [(f"sum({rate('hoverslam_actor_sent_bytes_total')})", "sent")], min=0, w=8),
    ]),
    ("Staleness", [
        ts("Policy lag", "Learner version minus the version that collected each trajectory "
           "trained on, against the largest accepted (--max-policy-lag). Buckets are whole "
           "lags, and quantiles interpolate inside them: with credit flow every trajectory is "
           "at lag 1, which reads p50 0.5, p90 0.9 and max 1.", "none",
           [(quantile(0.5, "hoverslam_learner_policy_lag"), "p50"),
            (quantile(0.9, "hoverslam_learner_policy_lag"), "p90"),
            (quantile(1, "hoverslam_learner_policy_lag"), "max"),
            (f"max({sel('hoverslam_learner_max_policy_lag')})", "limit")], min=0, w=8),
        heatmap("Policy lag distribution", "Trajectories trained on per lag bucket.", "none",
                "hoverslam_learner_policy_lag") | {"w": 8},
        ts("Rejections", "Messages refused, by reason: learner-side trajectories, actors' "
           "grants and weights, the evaluator's weights. Any sustained rate needs a look "
           "(README: Wire protocol, Rejection).", "cps",
           [(f"sum by (reason) ({rate('hoverslam_learner_rejected_total')}) > 0",
             "learner {{reason}}"),
            (f"sum by (reason) ({rate('hoverslam_actor_grants_rejected_total')}) > 0",
             "actor grants {{reason}}"),
            (f"sum by (reason) ({rate('hoverslam_actor_weights_rejected_total')}) > 0",
             "actor weights {{reason}}"),
            (f"sum by (reason) ({rate('hoverslam_eval_weights_rejected_total')}) > 0",
             "evaluator weights {{reason}}"),
            (f"sum({rate('hoverslam_learner_rejected_total')})", "total")], min=0, w=8),
        ts("Auth failures", "CURVE handshakes refused, by reason, as the learner, the actors "
           "and the evaluator see them.", "cps",
           [(f"sum by (reason) ({rate('hoverslam_learner_auth_failures_total')})",
             "learner {{reason}}"),
            (f"sum by (channel, reason) ({rate('hoverslam_actor_auth_failures_total')})",
             "actor {{channel}} {{reason}}"),
            (f"sum by (reason) ({rate('hoverslam_eval_auth_failures_total')})",
             "evaluator {{reason}}")], min=0, w=12),
        ts("Grants expired and rollouts discarded", "Grants unanswered in time (an actor "
           "vanished or stalled) and rollouts dropped because their learner went away.", "cps",
           [(f"sum({rate('hoverslam_learner_credits_expired_total')})", "grants expired"),
            (f"sum({rate('hoverslam_actor_rollouts_discarded_total')})", "rollouts discarded"),
            (f"sum({rate('hoverslam_actor_disconnects_total')})", "actor disconnects")],
           min=0, w=12),
    ]),
    ("Learning", [
        ts("Policy loss", "Clipped surrogate loss of the last update.", "none",
           [(f"max({sel('hoverslam_learner_pg_loss')})", "pg loss")], w=6),
        ts("Value loss", "Value loss of the last update.", "none",
           [(f"max({sel('hoverslam_learner_v_loss')})", "value loss")], w=6),
        ts("Entropy", "Entropy of the Gaussian policy, nats (summed over action dimensions). "
           "Differential entropy: below 0 once the standard deviation is under 0.24. Falling "
           "is the policy committing; a fall to -4 or lower means exploration is gone.", "none",
           [(f"max({sel('hoverslam_learner_entropy')})", "entropy")], w=6),
        ts("Approx KL", "KL(pi_prox || pi) per update, analytic over each minibatch's states, "
           "pi_prox the policy at the update's start; the adaptive learning rate steers it "
           "toward desired_kl.", "none",
           [(f"max({sel('hoverslam_learner_approx_kl')})", "approx KL")], min=0, w=6),
        ts("Clip fraction", "Fraction of probability ratios the surrogate clipped.",
           "percentunit", [(f"max({sel('hoverslam_learner_clip_fraction')})", "clip fraction")],
           min=0, w=6),
        ts("Explained variance", "How much of the returns' variance the critic explains "
           "(1 is perfect, 0 no better than a constant).", "none",
           [(f"max({sel('hoverslam_learner_explained_variance')})", "explained variance")],
           max=1, w=6),
        ts("Learning rate", "Adam learning rate after the adaptive-KL schedule.", "none",
           [(f"max({sel('hoverslam_learner_learning_rate')})", "lr")], log=True, w=6),
        ts("Update duration", "Wall time of one PPO update (all epochs): p50 and p90.", "s",
           [(quantile(0.5, "hoverslam_learner_update_duration_seconds"), "p50"),
            (quantile(0.9, "hoverslam_learner_update_duration_seconds"), "p90")], min=0, w=6),
        ts("Learner time by phase", "Where the PPO loop's wall time goes: waiting for data, "
           "building the batch (values, GAE), optimising, publishing weights, checkpointing.",
           "percentunit",
           [(f"sum by (phase) ({rate('hoverslam_learner_update_phase_seconds_total')})",
             "{{phase}}")], min=0, stack=True, w=8),
        ts("Episode outcomes", "Share of training episodes by outcome.", "percentunit",
           [(f"sum by (outcome) ({rate(EPISODES)}) / ignoring (outcome) group_left "
             f"sum({rate(EPISODES)})", "{{outcome}}")], min=0, max=1, stack=True, w=8),
        heatmap("Episode return distribution", "Training episodes per return bucket.", "none",
                "hoverslam_learner_episode_return") | {"w": 8},
    ]),
    ("Health", [
        ts("CPU per pod", "CPU used by each process, in cores (1 = one core busy).", "short",
           [(f"sum by (pod) ({rate('process_cpu_seconds_total')})", "{{pod}}")], min=0, w=8),
        ts("Memory per pod", "Resident memory of each process.", "bytes",
           [(f"sum by (pod) ({sel('process_resident_memory_bytes')})", "{{pod}}")], min=0, w=8),
        ts("Uptime", "Seconds since each process started: a drop to 0 is a restart.", "s",
           [(f"time() - max by (pod) ({sel('process_start_time_seconds')})", "{{pod}}")],
           min=0, w=8),
        ts("Time since checkpoint", "Seconds since the learner's newest checkpoint (since its "
           "start before the first). It rises to --checkpoint-every updates' worth, then drops.",
           "s",
           [(f"time() - max({sel('hoverslam_learner_last_checkpoint_timestamp_seconds')})",
             "since checkpoint")], min=0, w=8),
        ts("Actors' weights age", "Seconds since each actor's policy version last changed. "
           "Growing on one actor only: it receives no weights.", "s",
           [(f"max by (pod) ({sel('hoverslam_actor_weights_age_seconds')})", "{{pod}}")],
           min=0, w=8),
        ts("Open file descriptors", "Open descriptors of each process as a share of its "
           "limit.", "percentunit",
           [(f"max by (pod) ({sel('process_open_fds')}) / max by (pod) "
             f"({sel('process_max_fds')})", "{{pod}}")], min=0, w=8),
        {"type": "table", "title": "Builds", "description": "Which build each process runs "
         "(hoverslam_build_info): a rollout that mixes two shows here.", "unit": "none",
         "targets": [(f"max by (pod, binary, version, commit, protocol) "
                      f"({sel('hoverslam_build_info')})", "")], "w": 24, "h": 6,
         "format": "table"},
    ]),
]


# ---------------------------------------------------------------------------------------------
# Grafana JSON

def field_config(p):
    defaults = {"unit": p["unit"], "color": {"mode": "palette-classic"}}
    for key in ("min", "max", "decimals"):
        if key in p:
            defaults[key] = p[key]
    if p["type"] == "stat":
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": p.get(
            "steps", [{"color": "text", "value": None}])}
        if "mappings" in p:
            defaults["mappings"] = p["mappings"]
    elif p["type"] == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if p.get("stack") else 0,
            "showPoints": "never", "spanNulls": False,
            "stacking": {"mode": "normal" if p.get("stack") else "none", "group": "A"},
            "scaleDistribution": {"type": "log", "log": 10} if p.get("log") else
            {"type": "linear"},
        }
    elif p["type"] == "heatmap":
        defaults["custom"] = {"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                              "scaleDistribution": {"type": "linear"}}
    elif p["type"] == "table":
        defaults["custom"] = {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False}
    return {"defaults": defaults, "overrides": []}


def options(p):
    kind = p["type"]
    if kind == "timeseries":
        return {"legend": {"calcs": [], "displayMode": "list", "placement": "bottom",
                           "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {"colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                "orientation": "auto", "percentChangeColorMode": "standard",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showPercentChange": False, "textMode": "auto", "wideLayout": True}
    if kind == "heatmap":
        return {"calculate": False, "cellGap": 1,
                "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme",
                          "reverse": False, "scale": "exponential", "scheme": "Oranges",
                          "steps": 64},
                "exemplars": {"color": "rgba(255,0,255,0.7)"},
                "legend": {"show": True}, "rowsFrame": {"layout": "auto"},
                "showValue": "never", "tooltip": {"mode": "single", "yHistogram": False},
                "yAxis": {"axisPlacement": "left", "unit": p["unit"]}}
    if kind == "table":
        return {"cellHeight": "sm", "frameIndex": 0, "showHeader": True}
    raise ValueError(f"no options for panel type {kind}")


def target(expr, legend, ref, p):
    t = {"datasource": DATASOURCE, "refId": ref, "expr": expr, "range": True,
         "legendFormat": legend or "__auto"}
    if p.get("format") == "heatmap":
        t["format"] = "heatmap"
    if p.get("format") == "table":
        t.update(format="table", instant=True, range=False)
    return t


def panel(p, pid, x, y, w, h):
    out = {"id": pid, "type": p["type"], "title": p["title"], "description": p["description"],
           "datasource": DATASOURCE, "gridPos": {"h": h, "w": w, "x": x, "y": y},
           "fieldConfig": field_config(p), "options": options(p),
           "targets": [target(e, legend, chr(ord("A") + i), p)
                       for i, (e, legend) in enumerate(p["targets"])]}
    if p["type"] == "table":
        out["transformations"] = [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True}, "renameByName": {}}}]
    return out


def layout():
    panels, pid, y = [], 1, 0
    for title, items in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y, x, line_h = pid + 1, y + 1, 0, 0
        for p in items:
            w, h = p.get("w", 12), p.get("h", 8)
            if x + w > 24:
                x, y, line_h = 0, y + line_h, 0
            panels.append(panel(p, pid, x, y, w, h))
            pid, x, line_h = pid + 1, x + w, max(line_h, h)
        y += line_h
    return panels


def variable(name, label, query, many):
    """A query variable. One run per namespace and panels that add up over pods, so namespace
    is single-select; pod is multi-select, its All the listed pods (no allValue: ".*" would
    also match other workloads' process_* series in the namespace)."""
    current = {"selected": True, "text": ["All"], "value": ["$__all"]} if many else {}
    v = {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
         "query": {"query": query, "refId": f"{name}-variable"},
         "refresh": 2, "includeAll": many, "multi": many,
         "sort": 1, "hide": 0, "options": [], "regex": ""}
    return v | ({"current": current} if current else {})


def dashboard():
    return {
        "title": "hoverslam",
        "uid": "hoverslam-training",
        "description": "hoverslam training: evaluation, data flow, staleness, PPO statistics "
                       "and process health of a learner, its actors and the evaluator.",
        "tags": ["hoverslam", "reinforcement-learning"],
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "links": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "hide": 0, "includeAll": False,
             "multi": False, "options": [], "refresh": 1, "regex": ""},
            variable("namespace", "Namespace", "label_values(hoverslam_build_info, namespace)",
                     many=False),
            variable("pod", "Pod",
                     'label_values(hoverslam_build_info{namespace=~"$namespace"}, pod)',
                     many=True),
        ]},
        "panels": layout(),
    }


def configmap(text):
    body = "\n".join("    " + line if line else "" for line in text.rstrip("\n").split("\n"))
    return f"""\
# Generated by dashboards/generate.py from dashboards/hoverslam.json; do not edit.
# The kube-prometheus-stack's Grafana sidecar loads every ConfigMap labelled
# grafana_dashboard: "1" (its default label) from the namespaces it watches.
apiVersion: v1
kind: ConfigMap
metadata:
  name: hoverslam-grafana-dashboard
  labels:
    grafana_dashboard: "1"
    app.kubernetes.io/name: hoverslam
    app.kubernetes.io/part-of: hoverslam
data:
  hoverslam.json: |
{body}
"""


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a generated file differs from what is written")
    args = ap.parse_args(argv)
    text = json.dumps(dashboard(), indent=2) + "\n"
    files = {DASHBOARD: text, CONFIGMAP: configmap(text)}
    stale = [p for p, t in files.items() if not p.exists() or p.read_text() != t]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(REPO)} is stale: run dashboards/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for p, t in files.items():
        p.write_text(t)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
