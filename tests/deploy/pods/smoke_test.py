#!/usr/bin/env python3
"""The Kubernetes deployment in real pods, on this machine, with podman.

Builds the actor and learner images from a locally made Debian base, renders
deploy/k8s/overlays/cpu with `kubectl kustomize`, turns what podman 4.3 cannot run into
pods (keeping images, commands, args, env and volumes as rendered) and plays them on a
podman network of their own: the StatefulSet's pod (named after its Service, at a fixed
address the other pods know the Service name by), two actor pods and the evaluator's. Then
it checks that training works across pods, that the evaluator keeps the best policy, and
that a re-created learner pod resumes from the checkpoint on its volume while the actor
pods go on without a restart. CURVE is on, as in the overlay: the keys come from
deploy/k8s/curve-keys.sh and sit in host directories laid out as the kubelet lays out Secret
volumes. Everything it creates is removed at the end, also on failure.

    smoke_test.py [--repo DIR] [--overlay DIR] [--env NAME] [--keep]

--env sets HOVERSLAM_ENV in the rendered ConfigMap, as a user switching the task would, and
checks that every pod runs that env and the learner takes the env's own settings.

Exit 77 (skip) when podman is not installed. Needs root: pod IPs on a podman bridge are
reachable from the host only for root's networks. The last line printed is one JSON
object with the figures.
"""

import argparse
import base64
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77
LABEL = "hoverslam-smoke"  # on every pod, volume and network made here; stale ones are removed
LEARNER_POD = "hoverslam-learner"  # the Service's name
ACTOR_PODS = ("hoverslam-actor-a", "hoverslam-actor-b")
EVALUATOR_POD = "hoverslam-evaluator"

# What podman needs on the project's machines: runc as the runtime, and no default ulimits
# (podman's defaults cannot be applied there).
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n'


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(*cmd, check=True, capture=True, input_text=None, env=None):
    proc = subprocess.run(cmd, text=True, capture_output=capture, input=input_text, env=env)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip()[-2000:] if capture else ""
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {detail}")
    return proc


def podman(*args, **kw):
    return run("podman", *args, **kw)


def poll(what, read, until=bool, deadline_s=120, interval_s=1.0):
    """Calls read() until until(value) holds and returns that value; fails naming `what`
    after deadline_s. A read that raises (a pod not up yet) counts as not yet."""
    end = time.monotonic() + deadline_s
    last_error = None
    while True:
        try:
            value = read()
            if until(value):
                return value
        except (OSError, RuntimeError, ValueError, TypeError) as e:
            last_error = e
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for {what}"
                                 + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval_s)


# --- Prometheus text -------------------------------------------------------------------

def scrape(ip, port, timeout=3):
    with urllib.request.urlopen(f"http://{ip}:{port}/metrics", timeout=timeout) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        samples[name_labels] = float(value)
    return samples


def metric(samples, name):
    """The value of an unlabelled sample, or the sum over a labelled family."""
    if name in samples:
        return samples[name]
    values = [v for k, v in samples.items() if k.startswith(name + "{")]
    return sum(values) if values else None


def healthz(ip, port, timeout=3):
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}/healthz", timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# --- manifests -------------------------------------------------------------------------

def yaml_objects(yaml_text):
    """The objects of a YAML stream. kubectl prints JSON without a cluster when asked to edit
    locally; removing an annotation nobody sets changes nothing, so this is a YAML-to-JSON step
    with no dependency beyond kubectl itself."""
    proc = subprocess.run(["kubectl", "annotate", "--local", "-f", "-", "-o", "json",
                           "hoverslam.invalid/none-"], input=yaml_text, text=True,
                          capture_output=True, check=True)
    decoder, text, i, objects = json.JSONDecoder(), proc.stdout, 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            break
        obj, i = decoder.raw_decode(text, i)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])
    return objects


def render(repo, overlay):
    return yaml_objects(run("kubectl", "kustomize", os.path.join(repo, overlay)).stdout)


def find(objects, kind, component):
    hits = [o for o in objects if o["kind"] == kind and
            o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]
    if len(hits) != 1:
        raise AssertionError(f"expected one {kind} for {component}, found {len(hits)}")
    return hits[0]


def to_pod(workload, pod_name, run_label, extra_volumes=(), host_aliases=()):
    """The pod the workload's controller would create, as podman 4.3 can play it."""
    template = json.loads(json.dumps(workload["spec"]["template"]))
    meta = template.get("metadata", {})
    meta["name"] = pod_name
    meta.setdefault("labels", {})[LABEL] = run_label
    spec = template["spec"]
    spec.setdefault("volumes", []).extend(extra_volumes)
    spec.setdefault("hostAliases", []).extend(host_aliases)
    # emptyDir becomes a podman volume named after the pod's volume, shared by every pod
    # that uses the same name; a per-pod name keeps it private to the pod as in Kubernetes.
    renames = {v["name"]: f"{pod_name}-{v['name']}" for v in spec["volumes"] if "emptyDir" in v}
    for v in spec["volumes"]:
        v["name"] = renames.get(v["name"], v["name"])
    for c in spec.get("initContainers", []) + spec["containers"]:
        for m in c.get("volumeMounts", []):
            m["name"] = renames.get(m["name"], m["name"])
        # Probes become podman healthchecks that run curl (not in the images) and restart
        # the container on failure; this test asks /healthz itself instead.
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            c.pop(probe, None)
        # podman 4.3 publishes every containerPort on the host (the second actor's 9101
        # would clash); in Kubernetes they only name ports. Pod IPs are reached directly.
        c.pop("ports", None)
        c["imagePullPolicy"] = "Never"  # no registry: the images built above
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def curve_secrets(repo, keygen, dest):
    """The Secrets of components/curve, made by deploy/k8s/curve-keys.sh init --dry-run, each
    written to dest/<name>/ as the kubelet writes a Secret volume for a pod with fsGroup 10001:
    root-owned, group 10001, mode 0440. Returns {secret name: directory}."""
    out = run(os.path.join(repo, "deploy/k8s/curve-keys.sh"), "init", "--dry-run",
              env=dict(os.environ, HOVERSLAM_KEYGEN=keygen)).stdout
    items = yaml_objects(out)
    dirs = {}
    for secret in items:
        d = os.path.join(dest, secret["metadata"]["name"])
        os.makedirs(d)
        os.chmod(d, 0o755)
        for key, value in secret["data"].items():
            path = os.path.join(d, key)
            with open(path, "wb") as f:
                f.write(base64.b64decode(value))
            os.chown(path, 0, 10001)
            os.chmod(path, 0o440)
        dirs[secret["metadata"]["name"]] = d
    return dirs


def secrets_to_host_paths(pod, secret_dirs):
    """podman 4.3 plays no Secret volumes: the same files from a host directory."""
    for v in pod["spec"].get("volumes", []):
        if "secret" in v:
            v["hostPath"] = {"path": secret_dirs[v.pop("secret")["secretName"]],
                             "type": "Directory"}


def write_yaml(path, docs):
    # JSON documents are YAML; podman reads one object per document.
    with open(path, "w") as f:
        f.write("\n---\n".join(json.dumps(d, indent=1) for d in docs) + "\n")


def claims(pod):
    return [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
            if "persistentVolumeClaim" in v]


# --- podman state ------------------------------------------------------------------------

def pod_ip(pod, network):
    infra = podman("pod", "inspect", pod, "--format", "{{.InfraContainerID}}").stdout.strip()
    nets = json.loads(podman("inspect", infra, "--format",
                             "{{json .NetworkSettings.Networks}}").stdout)
    return nets[network]["IPAddress"]


def container_state(name):
    out = podman("inspect", name, "--format",
                 "{{.State.Status}}|{{.RestartCount}}|{{.State.StartedAt}}|{{.State.ExitCode}}")
    status, restarts, started, code = out.stdout.strip().split("|")
    return {"status": status, "restarts": int(restarts), "started": started, "exit": int(code)}


def container_name(pod):
    # kube play names a pod's container <pod>-<container>.
    return f"{pod['metadata']['name']}-{pod['spec']['containers'][0]['name']}"


def evaluations(best_dir):
    """The evaluator's evals.jsonl: one JSON object per evaluation, whole lines only."""
    with open(os.path.join(best_dir, "evals.jsonl")) as f:
        return [json.loads(line) for line in f.read().splitlines(keepends=True)
                if line.endswith("\n")]


def volume_path(name):
    return podman("volume", "inspect", name, "--format", "{{.Mountpoint}}").stdout.strip()


def remove_labelled():
    """Pods, volumes and networks left by a run that was killed before its clean-up."""
    pods = podman("pod", "ps", "-q", "--filter", f"label={LABEL}").stdout.split()
    if pods:
        podman("pod", "rm", "-f", "-t", "0", *pods, check=False)
    vols = podman("volume", "ls", "-q", "--filter", f"label={LABEL}").stdout.split()
    if vols:
        podman("volume", "rm", "-f", *vols, check=False)
    nets = podman("network", "ls", "-q", "--filter", f"label={LABEL}").stdout.split()
    if nets:
        podman("network", "rm", "-f", *nets, check=False)


# --- the test --------------------------------------------------------------------------

class Smoke:
    def __init__(self, repo, overlay, keep, keygen, env=None):
        self.repo, self.overlay, self.keep, self.keygen = repo, overlay, keep, keygen
        self.env = env
        self.run_label = f"{os.getpid()}-{int(time.time())}"
        self.network = f"{LABEL}-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="hoverslam-pods-")
        self.pods, self.volumes, self.network_made = [], [], False
        self.figures, self.rows = {}, []

    def check(self, what, ok, detail=""):
        self.rows.append((what, "ok" if ok else "FAIL", detail))
        log(f"{'ok  ' if ok else 'FAIL'} {what}  {detail}")
        if not ok:
            raise AssertionError(f"{what}: {detail}")

    # images

    def build_images(self, objects):
        images = {"actor": set(), "learner": set()}
        for o in objects:
            spec = o.get("spec", {}).get("template", {}).get("spec")
            if not spec:
                continue
            component = o["metadata"].get("labels", {}).get("app.kubernetes.io/component")
            for c in spec["containers"]:
                images["learner" if component == "learner" else "actor"].add(c["image"])
        log("making the Debian base (deploy/images/make-base.sh)")
        t = time.monotonic()
        run(os.path.join(self.repo, "deploy/images/make-base.sh"), capture=False)
        self.figures["base_s"] = round(time.monotonic() - t, 1)
        for name in ("actor", "learner"):
            tags = sorted(images[name])
            log(f"building deploy/images/{name}.Containerfile as {', '.join(tags)}")
            t = time.monotonic()
            args = ["build", "-f", f"deploy/images/{name}.Containerfile"]
            for tag in tags:
                args += ["-t", tag]
            proc = subprocess.run(["podman", *args, "."], cwd=self.repo, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                print(proc.stdout[-6000:])
                raise AssertionError(f"building the {name} image failed")
            self.figures[f"{name}_build_s"] = round(time.monotonic() - t, 1)
            size = int(podman("image", "inspect", tags[0], "--format", "{{.Size}}").stdout)
            self.figures[f"{name}_image_mb"] = round(size / 1e6, 1)
        actor_image = sorted(images["actor"])[0]
        libs = podman("run", "--rm", "--entrypoint", "ldd", actor_image,
                      "/usr/local/bin/hoverslam-actor", "/usr/local/bin/hoverslam-eval").stdout
        self.check("actor image has no LibTorch", "torch" not in libs)
        self.check("actor image <= 150 MB", self.figures["actor_image_mb"] <= 150,
                   f"{self.figures['actor_image_mb']} MB")

    # pods

    def play(self, name, docs, options=()):
        path = os.path.join(self.tmp, f"{name}.yaml")
        write_yaml(path, docs)
        if name not in self.pods:
            self.pods.append(name)
        podman("kube", "play", "--network", self.network, *options, path)
        return path

    def make_volume(self, name):
        # Made here, not by a PersistentVolumeClaim in the played YAML: podman refuses to
        # play a claim whose volume exists, which is the point of the learner's restart.
        podman("volume", "create", "--label", f"{LABEL}={self.run_label}", name)
        self.volumes.append(name)

    def main(self):
        start = time.monotonic()
        remove_labelled()
        objects = render(self.repo, self.overlay)
        kinds = sorted({o["kind"] for o in objects})
        log(f"rendered {self.overlay}: {len(objects)} objects ({', '.join(kinds)})")
        self.build_images(objects)

        configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
        if self.env:
            config = [c for c in configmaps if "HOVERSLAM_ENV" in c.get("data", {})]
            if len(config) != 1:
                raise AssertionError(f"expected one ConfigMap with HOVERSLAM_ENV, found {len(config)}")
            config[0]["data"]["HOVERSLAM_ENV"] = self.env
            log(f"HOVERSLAM_ENV={self.env} in ConfigMap {config[0]['metadata']['name']}")
        learner_set = find(objects, "StatefulSet", "learner")
        actor_dep = find(objects, "Deployment", "actor")
        evaluator_dep = find(objects, "Deployment", "evaluator")
        services = [o["metadata"]["name"] for o in objects if o["kind"] == "Service"]
        if learner_set["spec"]["serviceName"] != LEARNER_POD or LEARNER_POD not in services:
            raise AssertionError(f"expected the learner behind Service {LEARNER_POD}: "
                                 f"serviceName {learner_set['spec']['serviceName']}, "
                                 f"Services {services}")

        # A StatefulSet's pod mounts claim <template>-<set>-<ordinal>.
        set_name = learner_set["metadata"]["name"]
        learner_claims = []
        for t in learner_set["spec"].get("volumeClaimTemplates", []):
            claim = f"{t['metadata']['name']}-{set_name}-0"
            learner_claims.append({"name": t["metadata"]["name"],
                                   "persistentVolumeClaim": {"claimName": claim}})
        podman("network", "create", "--label", f"{LABEL}={self.run_label}", self.network)
        self.network_made = True
        # The Service: a fixed address for the learner pod, and its name in the other pods'
        # /etc/hosts. The network's DNS (aardvark-dns) sometimes leaves a new pod's queries
        # unanswered for 40-50 s, and ZeroMQ resolves in its I/O thread, so an actor would
        # sit that long before its first connection. The MAC is fixed too: the actors' ARP
        # caches would send to the old pod's for up to a minute after the re-creation.
        subnet = ipaddress.ip_network(podman(
            "network", "inspect", self.network, "--format",
            "{{range .Subnets}}{{.Subnet}}{{end}}").stdout.strip())
        learner_ip = subnet.network_address + 250  # above what IPAM hands out to 4 pods
        self.learner_addr = ["--ip", str(learner_ip), "--mac-address",
                             "02:42:" + ":".join(f"{b:02x}" for b in learner_ip.packed)]
        service = [{"ip": str(learner_ip), "hostnames": [LEARNER_POD]}]
        learner_pod = to_pod(learner_set, LEARNER_POD, self.run_label, learner_claims)
        actor_pods = [to_pod(actor_dep, n, self.run_label, host_aliases=service)
                      for n in ACTOR_PODS]
        evaluator_pod = to_pod(evaluator_dep, EVALUATOR_POD, self.run_label, host_aliases=service)
        secret_dirs = curve_secrets(self.repo, self.keygen, os.path.join(self.tmp, "secrets"))
        for pod in [learner_pod, *actor_pods, evaluator_pod]:
            secrets_to_host_paths(pod, secret_dirs)
        log(f"CURVE keys from deploy/k8s/curve-keys.sh: {', '.join(sorted(secret_dirs))}")
        for pod in [learner_pod, *actor_pods, evaluator_pod]:
            for claim in claims(pod):
                if claim not in self.volumes:
                    self.make_volume(claim)

        started = time.monotonic()
        learner_yaml = self.play(LEARNER_POD, configmaps + [learner_pod], self.learner_addr)
        for pod in actor_pods:
            self.play(pod["metadata"]["name"], configmaps + [pod])
        self.play(EVALUATOR_POD, configmaps + [evaluator_pod])
        log(f"played {len(self.pods)} pods on network {self.network}")

        ip = {p: pod_ip(p, self.network) for p in self.pods}
        learner_c = container_name(learner_pod)
        actor_c = {p["metadata"]["name"]: container_name(p) for p in actor_pods}
        evaluator_c = container_name(evaluator_pod)

        # Training across pods: both actors' data reaches the learner and versions advance.
        def learner():
            return scrape(ip[LEARNER_POD], 9100)

        def version(samples):
            return metric(samples, "hoverslam_learner_policy_version")

        v0 = version(poll("learner metrics", learner, lambda s: version(s) is not None))
        s = poll("the learner to train on data from both actors, 3 versions on", learner,
                 lambda s: metric(s, "hoverslam_learner_actors_seen") == 2 and
                 version(s) >= v0 + 3, deadline_s=240)
        self.figures["first_versions_s"] = round(time.monotonic() - started, 1)
        self.check("learner versions advance", True,
                   f"v{v0:.0f} -> v{version(s):.0f}")
        self.check("learner trained on both actors", True,
                   f"actors_seen {metric(s, 'hoverslam_learner_actors_seen'):.0f}, "
                   f"trajectories {metric(s, 'hoverslam_learner_trajectories_received_total'):.0f}")
        # CURVE is on (components/curve): every pod got in with its key, none was refused.
        self.check("CURVE: no client refused", metric(s, "hoverslam_learner_auth_failures_total")
                   == 0, f"auth failures {metric(s, 'hoverslam_learner_auth_failures_total')}")
        for p in ACTOR_PODS:
            a = scrape(ip[p], 9101)
            self.check(f"{p} sends trajectories",
                       metric(a, "hoverslam_actor_trajectories_sent_total") > 0,
                       f"{metric(a, 'hoverslam_actor_trajectories_sent_total'):.0f} sent")
        for c in [learner_c, evaluator_c, *actor_c.values()]:
            out = podman("inspect", c, "--format", "{{.Config.User}}|{{.HostConfig.ReadonlyRootfs}}")
            user, ro = out.stdout.strip().split("|")
            self.check(f"{c} runs as {user}, read-only root",
                       user.startswith("10001") and ro == "true")
        for p, port in [(LEARNER_POD, 9100), (ACTOR_PODS[0], 9101), (ACTOR_PODS[1], 9101),
                        (EVALUATOR_POD, 9102)]:
            poll(f"/healthz of {p}", lambda: healthz(ip[p], port), lambda c: c == 200, 60)
            self.check(f"{p} /healthz", True, "200")

        # The evaluator: a success rate on /metrics and best.msgpack on its volume.
        best_dir = volume_path(claims(evaluator_pod)[0])
        e = poll("an evaluation and best.msgpack", lambda: scrape(ip[EVALUATOR_POD], 9102),
                 lambda e: metric(e, "hoverslam_eval_success_rate") is not None and
                 (metric(e, "hoverslam_eval_evaluations_total") or 0) >= 1 and
                 os.path.exists(os.path.join(best_dir, "best.msgpack")), deadline_s=180)
        self.check("evaluator exports a success rate", True,
                   f"success {metric(e, 'hoverslam_eval_success_rate'):.3f} at "
                   f"v{metric(e, 'hoverslam_eval_policy_version'):.0f}")
        self.check("evaluator writes best.msgpack", True,
                   f"{os.path.getsize(os.path.join(best_dir, 'best.msgpack'))} bytes")
        env = self.env or "rocket"
        evaluated = {r["eval"] for r in evaluations(best_dir)}
        self.check(f"evaluator runs {env}", evaluated == {env}, f"evaluated {sorted(evaluated)}")
        wrong = metric(learner(), 'hoverslam_learner_rejected_total{reason="wrong_env"}')
        self.check("learner refused no trajectory as another env's", wrong == 0,
                   f"wrong_env {wrong}")
        if self.env:
            out = podman("logs", learner_c)
            logs = out.stdout + out.stderr
            applied = re.findall(rf"--env {re.escape(env)} sets (--[\w-]+ \S+)", logs)
            self.check("learner takes the env's own settings", bool(applied), ", ".join(applied))

        # Delete the learner pod as a node drain would (SIGTERM, the pod's grace period) and
        # re-create it from the same YAML: it must resume from its volume's checkpoint.
        before = {p: container_state(actor_c[p]) for p in ACTOR_PODS}
        ev_weights = metric(scrape(ip[EVALUATOR_POD], 9102),
                            "hoverslam_eval_weights_received_total")
        # The run id from the evaluator's record of the weights it scored (a file, not a log).
        run_id = evaluations(best_dir)[-1]["run"]
        grace = learner_pod["spec"].get("terminationGracePeriodSeconds", 30)
        v_before = version(learner())
        log(f"deleting pod {LEARNER_POD} at v{v_before:.0f} (grace {grace} s), run {run_id}")
        t_delete = time.monotonic()
        # As the kubelet does: the containers first, the pod's network after. `podman pod
        # stop` takes the network down with them, so the learner's FIN never reaches the
        # actors and their connections hang until TCP gives up.
        podman("stop", "-t", str(grace), learner_c)
        stopped = container_state(learner_c)
        stop_s = time.monotonic() - t_delete
        self.figures["learner_stop_s"] = round(stop_s, 1)
        self.check("learner exits 0 on SIGTERM within its grace period",
                   stopped["exit"] == 0 and stop_s < grace,
                   f"exit {stopped['exit']} in {stop_s:.1f} s")
        ckpt_dir = volume_path(learner_claims[0]["persistentVolumeClaim"]["claimName"])
        ckpts = {int(m.group(1)): f for f in os.listdir(ckpt_dir)
                 if (m := re.fullmatch(r"ckpt-(\d+)\.pt", f))}
        self.check("final checkpoint on the learner's volume",
                   bool(ckpts) and max(ckpts) >= v_before,
                   ckpts[max(ckpts)] if ckpts else f"none in {sorted(os.listdir(ckpt_dir))}")
        v_final = max(ckpts)
        podman("pod", "rm", "-f", LEARNER_POD)
        podman("kube", "play", "--network", self.network, *self.learner_addr, learner_yaml)
        ip[LEARNER_POD] = pod_ip(LEARNER_POD, self.network)
        # Its first answer already carries the checkpoint's version (a fresh start says 0; a
        # couple of updates may have run by then).
        first = poll("the re-created learner's metrics", learner,
                     lambda s: version(s) is not None, deadline_s=240, interval_s=0.1)
        s = poll("a new version from the re-created learner", learner,
                 lambda s: (version(s) or -1) > v_final, deadline_s=240, interval_s=0.25)
        self.figures["restart_to_new_version_s"] = round(time.monotonic() - t_delete, 1)
        self.check("learner resumes from the checkpoint",
                   v_final <= version(first) <= v_final + 2,
                   f"first seen at v{version(first):.0f}; final checkpoint v{v_final}")
        later = poll("an evaluation of a version past the checkpoint",
                     lambda: [e for e in evaluations(best_dir) if e["policy_version"] > v_final],
                     bool, deadline_s=120)
        self.check("run id unchanged", later[0]["run"] == run_id,
                   f"{later[0]['run']} (was {run_id})")
        self.check("versions advance past the final checkpoint's", version(s) > v_final,
                   f"v{version(s):.0f} > v{v_final}")

        # The same actor pods go on: no restart, and their data reaches the new learner.
        sent = {p: metric(scrape(ip[p], 9101), "hoverslam_actor_trajectories_sent_total")
                for p in ACTOR_PODS}
        poll("both actors' data at the re-created learner", learner,
             lambda s: metric(s, "hoverslam_learner_actors_seen") == 2)
        for p in ACTOR_PODS:
            after = container_state(actor_c[p])
            self.check(f"{p} not restarted",
                       after["status"] == "running" and after["restarts"] == before[p]["restarts"]
                       and after["started"] == before[p]["started"],
                       f"{after['status']}, restarts {after['restarts']}")
            grown = poll(f"{p} to keep sending", lambda: metric(
                scrape(ip[p], 9101), "hoverslam_actor_trajectories_sent_total"),
                lambda n: n > sent[p])
            self.check(f"{p} keeps sending", True, f"{sent[p]:.0f} -> {grown:.0f}")
        ev = container_state(evaluator_c)
        self.check("evaluator not restarted", ev["status"] == "running" and ev["restarts"] == 0)
        got = poll("the evaluator to receive the re-created learner's weights",
                   lambda: metric(scrape(ip[EVALUATOR_POD], 9102),
                                  "hoverslam_eval_weights_received_total"),
                   lambda n: n > ev_weights)
        self.check("evaluator follows the re-created learner", True,
                   f"weights received {ev_weights:.0f} -> {got:.0f}")
        self.figures["smoke_s"] = round(time.monotonic() - start, 1)

    def teardown(self):
        if self.keep:
            log(f"--keep: pods {self.pods}, volumes {self.volumes}, network {self.network} stay")
            return
        if self.pods:
            podman("pod", "rm", "-f", "-i", "-t", "2", *self.pods, check=False)
        if self.volumes:
            podman("volume", "rm", "-f", *self.volumes, check=False)
        if self.network_made:
            podman("network", "rm", "-f", self.network, check=False)
        remove_labelled()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dump_logs(self):
        for p in self.pods:
            for name in podman("ps", "-a", "--filter", f"pod={p}", "--format", "{{.Names}}",
                               check=False).stdout.split():
                if name.endswith("-infra"):
                    continue
                out = podman("logs", "--tail", "30", name, check=False)
                print(f"--- {name} (last 30 lines)\n{out.stdout}{out.stderr}", flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.path.normpath(os.path.join(here, "../../..")))
    parser.add_argument("--overlay", default="deploy/k8s/overlays/cpu")
    parser.add_argument("--env", help="HOVERSLAM_ENV for every pod (default: the overlay's)")
    parser.add_argument("--keep", action="store_true", help="leave pods, volumes, network up")
    parser.add_argument("--keygen", default=shutil.which("hoverslam-keygen"),
                        help="hoverslam-keygen of this build (for the CURVE Secrets)")
    args = parser.parse_args()

    if shutil.which("podman") is None:
        print("SKIP: podman is not installed (.ci/install-deps.sh installs it)")
        return SKIP
    for tool in ("kubectl", "mmdebstrap"):
        if shutil.which(tool) is None:
            print(f"FAIL: {tool} is not installed")
            return 1
    if os.geteuid() != 0:
        print("SKIP: needs root: pod IPs on a podman bridge are reachable only for root's networks")
        return SKIP

    if not args.keygen:
        print("FAIL: no hoverslam-keygen: pass --keygen")
        return 1
    smoke = Smoke(os.path.abspath(args.repo), args.overlay, args.keep, args.keygen, args.env)
    conf = os.path.join(smoke.tmp, "containers.conf")
    with open(conf, "w") as f:
        f.write(CONTAINERS_CONF)
    os.environ["CONTAINERS_CONF"] = conf
    ok = False
    try:
        smoke.main()
        ok = True
    except Exception as e:  # report, show the pods' logs, clean up
        smoke.rows.append(("smoke test", "FAIL", str(e)[:300]))
        print(f"FAIL: {e}", flush=True)
        smoke.dump_logs()
    finally:
        t = time.monotonic()
        smoke.teardown()
        smoke.figures["teardown_s"] = round(time.monotonic() - t, 1)

    print(f"\n{'check':<60} {'result':<6} detail")
    for what, result, detail in smoke.rows:
        print(f"{what:<60} {result:<6} {detail}")
    print(f"\n{'figure':<28} value")
    for k, v in smoke.figures.items():
        print(f"{k:<28} {v}")
    print(json.dumps({"pods_smoke": "pass" if ok else "fail", **smoke.figures}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
