// Checks a schema cannot make, over one rendered overlay. Each group takes
// {objects, flags, render, rules} (flags: binary -> Set of the HOVERSLAM_* names `--list-env`
// printed; rules: group name -> {file, group}, the plain rule groups of deploy/prometheus) and
// returns failure messages, each naming the object; an empty list is a pass.
import {
  argFlags, binaryOf, containerEnv, containerPortByName, containersOf, findObject, firstDifference,
  imageRepo, mapSelectorMatches, namespaceOf, parseQuantity, podPortByName, podTemplates,
  recordedNamesIn, ref, selectorMatches, serviceLinkPrefix,
} from "./objects.mjs";

const NAME = "app.kubernetes.io/name";
const PART_OF = "app.kubernetes.io/part-of";
const COMPONENT = "app.kubernetes.io/component";
const COMPONENTS = ["learner", "actor", "evaluator"];
const RUNTIME_ID = 10001;
const BINARY_FILE = { learner: "hoverslam-learner", actor: "hoverslam-actor", eval: "hoverslam-eval" };

// Objects that belong to one component and must say which; shared ones (the ConfigMap, the
// Namespace, the PodMonitor) carry only name and part-of.
const PER_COMPONENT = new Set([
  "Deployment", "StatefulSet", "DaemonSet", "Service", "PodDisruptionBudget", "NetworkPolicy",
  "PersistentVolumeClaim", "ScaledObject",
]);

function eachContainer(objects, fn) {
  for (const pod of podTemplates(objects)) {
    for (const c of containersOf(pod)) fn(pod, c, `${ref(pod.owner)} container ${c.name}`);
  }
}

const podsIn = (objects, ns) => podTemplates(objects).filter((p) => p.ns === ns);

export function labels({ objects }) {
  const fail = [];
  const check = (where, l, needComponent) => {
    if (l[NAME] !== "hoverslam") fail.push(`${where}: label ${NAME} is not "hoverslam"`);
    if (l[PART_OF] !== "hoverslam") fail.push(`${where}: label ${PART_OF} is not "hoverslam"`);
    if (COMPONENT in l ? !COMPONENTS.includes(l[COMPONENT]) : needComponent) {
      fail.push(`${where}: label ${COMPONENT} must be one of ${COMPONENTS.join(", ")}`);
    }
  };
  for (const obj of objects) check(ref(obj), obj.metadata?.labels ?? {}, PER_COMPONENT.has(obj.kind));
  for (const pod of podTemplates(objects)) {
    check(`${ref(pod.owner)} pod template`, pod.labels, true);
    const own = pod.owner.metadata?.labels?.[COMPONENT];
    if (own && pod.labels[COMPONENT] !== own) {
      fail.push(`${ref(pod.owner)}: pod template component "${pod.labels[COMPONENT]}" differs from "${own}"`);
    }
  }
  return fail;
}

export function selectors({ objects }) {
  const fail = [];
  for (const pod of podTemplates(objects)) {
    const sel = pod.owner.spec?.selector;
    if (pod.owner.kind !== "Pod" && sel && !selectorMatches(sel, pod.labels)) {
      fail.push(`${ref(pod.owner)}: spec.selector does not match its pod template labels`);
    }
    if (pod.owner.kind === "StatefulSet") {
      const svc = findObject(objects, "Service", pod.ns, pod.owner.spec?.serviceName);
      if (!svc) fail.push(`${ref(pod.owner)}: serviceName "${pod.owner.spec?.serviceName}" names no Service`);
      else if (!mapSelectorMatches(svc.spec?.selector, pod.labels)) {
        fail.push(`${ref(pod.owner)}: its Service ${svc.metadata.name} does not select its pods`);
      }
    }
  }
  const needsPods = (obj, what, matches) => {
    if (!podsIn(objects, namespaceOf(obj)).some((p) => matches(p.labels))) {
      fail.push(`${ref(obj)}: ${what} matches no pod template`);
    }
  };
  for (const obj of objects) {
    if (obj.kind === "Service" && obj.spec?.selector) {
      needsPods(obj, "spec.selector", (l) => mapSelectorMatches(obj.spec.selector, l));
    } else if (obj.kind === "PodDisruptionBudget") {
      needsPods(obj, "spec.selector", (l) => selectorMatches(obj.spec?.selector, l));
    } else if (obj.kind === "NetworkPolicy") {
      needsPods(obj, "spec.podSelector", (l) => selectorMatches(obj.spec?.podSelector, l));
      for (const rule of [...(obj.spec?.ingress ?? []), ...(obj.spec?.egress ?? [])]) {
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
          if (peer.podSelector && !peer.namespaceSelector) {
            needsPods(obj, "a peer podSelector", (l) => selectorMatches(peer.podSelector, l));
          }
        }
      }
    } else if (obj.kind === "PodMonitor") {
      needsPods(obj, "spec.selector", (l) => selectorMatches(obj.spec?.selector, l));
    }
  }
  return fail;
}

// Pod templates an object routes to, for the named-port checks.
function targetPods(objects, obj) {
  const pods = podsIn(objects, namespaceOf(obj));
  if (obj.kind === "Service") return pods.filter((p) => mapSelectorMatches(obj.spec?.selector, p.labels));
  if (obj.kind === "NetworkPolicy") return pods.filter((p) => selectorMatches(obj.spec?.podSelector, p.labels));
  if (obj.kind === "PodMonitor") return pods.filter((p) => selectorMatches(obj.spec?.selector, p.labels));
  return [];
}

export function namedPorts({ objects }) {
  const fail = [];
  const need = (obj, what, port, pods) => {
    for (const pod of pods) {
      const found = typeof port === "string"
        ? podPortByName(pod, port)
        : containersOf(pod).some((c) => (c.ports ?? []).some((p) => p.containerPort === port));
      if (!found) fail.push(`${ref(obj)}: ${what} ${JSON.stringify(port)} is not a port of ${ref(pod.owner)}`);
    }
  };
  for (const obj of objects) {
    const pods = targetPods(objects, obj);
    if (obj.kind === "Service") {
      for (const p of obj.spec?.ports ?? []) need(obj, `port ${p.name} targetPort`, p.targetPort ?? p.port, pods);
    } else if (obj.kind === "NetworkPolicy") {
      for (const rule of obj.spec?.ingress ?? []) {
        for (const p of rule.ports ?? []) if (typeof p.port === "string") need(obj, "ingress port", p.port, pods);
      }
    } else if (obj.kind === "PodMonitor") {
      for (const ep of obj.spec?.podMetricsEndpoints ?? []) {
        if (ep.port === undefined) fail.push(`${ref(obj)}: a podMetricsEndpoint names no port`);
        else need(obj, "podMetricsEndpoint port", ep.port, pods);
      }
    }
  }
  return fail;
}

// Every HOVERSLAM_* name a container sees is a flag of the binary it runs; every
// configMapKeyRef resolves.
export function envFlags({ objects, flags }) {
  const fail = [];
  const linked = objects.filter((o) => o.kind === "Service" && serviceLinkPrefix(o.metadata.name).startsWith("HOVERSLAM_"));
  for (const pod of podTemplates(objects)) {
    const leaks = linked.filter((s) => namespaceOf(s) === pod.ns);
    if (leaks.length && pod.spec.enableServiceLinks !== false) {
      const names = leaks.map((s) => `${serviceLinkPrefix(s.metadata.name)}SERVICE_HOST`).join(", ");
      fail.push(`${ref(pod.owner)}: service links would set ${names} (not flags); set enableServiceLinks: false`);
    }
  }
  eachContainer(objects, (pod, c, where) => {
    const bin = binaryOf(c);
    if (!bin) {
      fail.push(`${where}: cannot tell which hoverslam binary it runs (command ${JSON.stringify(c.command)}, image ${c.image})`);
      return;
    }
    const known = flags[bin];
    const names = [];
    for (const e of c.env ?? []) {
      names.push([e.name, "env"]);
      const keyRef = e.valueFrom?.configMapKeyRef;
      if (keyRef) {
        const cm = findObject(objects, "ConfigMap", pod.ns, keyRef.name);
        if (!cm) fail.push(`${where}: env ${e.name} refers to ConfigMap ${keyRef.name}, which is not rendered`);
        else if (!(keyRef.key in (cm.data ?? {}))) {
          fail.push(`${where}: env ${e.name} refers to key ${keyRef.key}, missing from ConfigMap ${keyRef.name}`);
        }
      }
    }
    for (const src of c.envFrom ?? []) {
      const name = src.configMapRef?.name ?? src.secretRef?.name;
      const kind = src.configMapRef ? "ConfigMap" : "Secret";
      const o = findObject(objects, kind, pod.ns, name);
      if (!o) {
        fail.push(`${where}: envFrom ${kind} ${name} is not rendered, so its names cannot be checked`);
        continue;
      }
      for (const k of Object.keys({ ...o.data, ...o.stringData })) names.push([`${src.prefix ?? ""}${k}`, `envFrom ${kind} ${name}`]);
    }
    for (const [name, from] of names) {
      if (name.startsWith("HOVERSLAM_") && !known.has(name)) {
        fail.push(`${where}: ${name} (${from}) is not a flag of ${BINARY_FILE[bin]}`);
      }
    }
    for (const { flag, env } of argFlags(c)) {
      if (!known.has(env)) fail.push(`${where}: argument ${flag} is not a flag of ${BINARY_FILE[bin]} (no ${env})`);
    }
  });
  return fail;
}

// Values that must agree across a manifest: ports in env and on containers and Services, data
// directories on writable volumes, and no ConfigMap key that nothing reads.
export function settings({ objects }) {
  const fail = [];
  const used = new Set();
  const portEnv = { HOVERSLAM_METRICS_PORT: "metrics", HOVERSLAM_TRAJECTORY_PORT: "trajectories", HOVERSLAM_WEIGHTS_PORT: "weights" };
  eachContainer(objects, (pod, c, where) => {
    const env = containerEnv(c, pod.ns, objects);
    for (const e of c.env ?? []) {
      const keyRef = e.valueFrom?.configMapKeyRef;
      if (keyRef) used.add(`${pod.ns}/${keyRef.name}/${keyRef.key}`);
    }
    for (const src of c.envFrom ?? []) {
      const cm = src.configMapRef && findObject(objects, "ConfigMap", pod.ns, src.configMapRef.name);
      for (const k of Object.keys(cm?.data ?? {})) used.add(`${pod.ns}/${src.configMapRef.name}/${k}`);
    }
    const bin = binaryOf(c);
    for (const [name, portName] of Object.entries(portEnv)) {
      const port = containerPortByName(c, portName);
      const v = env.get(name)?.value;
      // Clients (actor, evaluator) name the learner's ports; only a server's own ports compare here.
      if (!port || v === undefined || (portName !== "metrics" && bin !== "learner")) continue;
      if (Number(v) !== port.containerPort) {
        fail.push(`${where}: ${name}=${v} but its port ${portName} is ${port.containerPort}`);
      }
    }
    const learner = env.get("HOVERSLAM_LEARNER")?.value;
    if (learner !== undefined && bin !== "learner") {
      const svc = findObject(objects, "Service", pod.ns, learner.split(".")[0]);
      if (!svc) fail.push(`${where}: HOVERSLAM_LEARNER=${learner} names no rendered Service`);
      else {
        const wanted = [["HOVERSLAM_WEIGHTS_PORT", 5556]];
        if (bin === "actor") wanted.push(["HOVERSLAM_TRAJECTORY_PORT", 5555]);
        for (const [name, dflt] of wanted) {
          const port = Number(env.get(name)?.value ?? dflt);
          if (!(svc.spec?.ports ?? []).some((p) => p.port === port)) {
            fail.push(`${where}: ${name}=${port} is not a port of Service ${svc.metadata.name}`);
          }
        }
      }
    }
    for (const [name, { value }] of env) {
      if (!/^HOVERSLAM_.*_DIR$/.test(name) || value === undefined) continue;
      const mount = (c.volumeMounts ?? []).find((m) => !m.readOnly && (value === m.mountPath || value.startsWith(`${m.mountPath}/`)));
      if (!mount) fail.push(`${where}: ${name}=${value} is on no writable volume`);
    }
    for (const v of c.volumeMounts ?? []) {
      const vol = (pod.spec.volumes ?? []).find((x) => x.name === v.name);
      const claimTemplate = (pod.owner.spec?.volumeClaimTemplates ?? []).some((t) => t.metadata?.name === v.name);
      if (!vol && !claimTemplate) fail.push(`${where}: volumeMount ${v.name} names no volume`);
    }
  });
  // One task for all: a learner refuses every trajectory of another env (wrong_env), and an
  // evaluator of another env refuses its weights.
  const envs = new Map();
  eachContainer(objects, (pod, c, where) => {
    if (!binaryOf(c)) return;
    // An empty variable is no value: the binary runs its default env.
    const v = containerEnv(c, pod.ns, objects).get("HOVERSLAM_ENV")?.value || "rocket";
    envs.set(v, [...(envs.get(v) ?? []), where]);
  });
  if (envs.size > 1) {
    const parts = [...envs].map(([v, where]) => `${v} in ${where.join(", ")}`);
    fail.push(`HOVERSLAM_ENV differs between workloads: ${parts.join("; ")}`);
  }
  for (const pod of podTemplates(objects)) {
    for (const vol of pod.spec.volumes ?? []) {
      const claim = vol.persistentVolumeClaim?.claimName;
      if (claim && !findObject(objects, "PersistentVolumeClaim", pod.ns, claim)) {
        fail.push(`${ref(pod.owner)}: volume ${vol.name} claims ${claim}, which is not rendered`);
      }
    }
  }
  for (const cm of objects.filter((o) => o.kind === "ConfigMap")) {
    const referenced = [...used].some((u) => u.startsWith(`${namespaceOf(cm)}/${cm.metadata.name}/`));
    if (!referenced) continue;
    for (const k of Object.keys(cm.data ?? {})) {
      if (!used.has(`${namespaceOf(cm)}/${cm.metadata.name}/${k}`)) fail.push(`${ref(cm)}: key ${k} is read by no container`);
    }
  }
  return fail;
}

export function probes({ objects }) {
  const fail = [];
  eachContainer(objects, (pod, c, where) => {
    for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      const p = c[kind];
      if (!p) {
        if (kind !== "startupProbe") fail.push(`${where}: no ${kind}`);
        continue;
      }
      if (!p.httpGet) fail.push(`${where}: ${kind} is not httpGet`);
      else if (p.httpGet.path !== "/healthz") fail.push(`${where}: ${kind} path is ${p.httpGet.path}, not /healthz`);
      else if (typeof p.httpGet.port !== "string") fail.push(`${where}: ${kind} port ${p.httpGet.port} is not a named port`);
      else if (!containerPortByName(c, p.httpGet.port)) {
        fail.push(`${where}: ${kind} port "${p.httpGet.port}" is not a port of this container`);
      }
    }
  });
  return fail;
}

export function resources({ objects }) {
  const fail = [];
  eachContainer(objects, (pod, c, where) => {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ["cpu", "memory"]) if (req[r] === undefined) fail.push(`${where}: no resources.requests.${r}`);
    if (lim.memory === undefined) fail.push(`${where}: no resources.limits.memory`);
    else if (req.memory !== undefined && !(parseQuantity(lim.memory) >= parseQuantity(req.memory))) {
      fail.push(`${where}: memory limit ${lim.memory} is below its request ${req.memory}`);
    }
  });
  return fail;
}

export function security({ objects }) {
  const fail = [];
  for (const pod of podTemplates(objects)) {
    const where = `${ref(pod.owner)} pod`;
    const psc = pod.spec.securityContext ?? {};
    if (psc.fsGroup !== RUNTIME_ID) fail.push(`${where}: securityContext.fsGroup is not ${RUNTIME_ID}`);
    if (pod.spec.automountServiceAccountToken !== false) fail.push(`${where}: automountServiceAccountToken is not false`);
    for (const h of ["hostNetwork", "hostPID", "hostIPC"]) if (pod.spec[h]) fail.push(`${where}: ${h} is set`);
    for (const c of containersOf(pod)) {
      const at = `${ref(pod.owner)} container ${c.name}`;
      const sc = c.securityContext ?? {};
      const eff = (k) => (sc[k] !== undefined ? sc[k] : psc[k]);
      if (eff("runAsNonRoot") !== true) fail.push(`${at}: runAsNonRoot is not true`);
      if (eff("runAsUser") !== RUNTIME_ID) fail.push(`${at}: runAsUser is not ${RUNTIME_ID}`);
      if (eff("runAsGroup") !== RUNTIME_ID) fail.push(`${at}: runAsGroup is not ${RUNTIME_ID}`);
      if (eff("seccompProfile")?.type !== "RuntimeDefault") fail.push(`${at}: seccompProfile is not RuntimeDefault`);
      if (sc.allowPrivilegeEscalation !== false) fail.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) fail.push(`${at}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail.push(`${at}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add ?? []).length) fail.push(`${at}: adds capabilities ${sc.capabilities.add.join(", ")}`);
      if (sc.readOnlyRootFilesystem !== true) fail.push(`${at}: readOnlyRootFilesystem is not true`);
      else {
        const tmp = (c.volumeMounts ?? []).find((m) => m.mountPath === "/tmp");
        const vol = tmp && (pod.spec.volumes ?? []).find((v) => v.name === tmp.name);
        if (!vol?.emptyDir) fail.push(`${at}: read-only root filesystem but no emptyDir mounted at /tmp`);
      }
    }
  }
  return fail;
}

export function annotations({ objects }) {
  const fail = [];
  for (const pod of podTemplates(objects)) {
    const where = `${ref(pod.owner)} pod template`;
    const a = pod.annotations;
    const metrics = podPortByName(pod, "metrics");
    if (!metrics) {
      fail.push(`${where}: no container port named metrics`);
      continue;
    }
    if (a["prometheus.io/scrape"] !== "true") fail.push(`${where}: prometheus.io/scrape is not "true"`);
    if (a["prometheus.io/path"] !== "/metrics") fail.push(`${where}: prometheus.io/path is not /metrics`);
    if (a["prometheus.io/port"] !== String(metrics.containerPort)) {
      fail.push(`${where}: prometheus.io/port is ${a["prometheus.io/port"]}, its metrics port is ${metrics.containerPort}`);
    }
  }
  return fail;
}

// The gpu overlay's learner: CUDA image, one GPU, the GPU taint tolerated, device cuda.
export function gpu({ objects }) {
  const fail = [];
  let learners = 0;
  eachContainer(objects, (pod, c, where) => {
    if (binaryOf(c) !== "learner") return;
    learners++;
    if (imageRepo(c.image) !== "hoverslam-learner-cuda") fail.push(`${where}: image ${c.image} is not hoverslam-learner-cuda`);
    if (!(Number(c.resources?.limits?.["nvidia.com/gpu"]) >= 1)) fail.push(`${where}: no nvidia.com/gpu limit`);
    const tolerated = (pod.spec.tolerations ?? []).some(
      (t) => t.key === "nvidia.com/gpu" && (!t.effect || t.effect === "NoSchedule") &&
        (t.operator === "Exists" || t.operator === "Equal"));
    if (!tolerated) fail.push(`${ref(pod.owner)}: does not tolerate the nvidia.com/gpu NoSchedule taint`);
    const device = containerEnv(c, pod.ns, objects).get("HOVERSLAM_DEVICE")?.value;
    if (device !== "cuda") fail.push(`${where}: HOVERSLAM_DEVICE is ${device}, not cuda`);
  });
  if (learners === 0) fail.push("gpu overlay: no learner container rendered");
  return fail;
}

// CURVE key files (HOVERSLAM_CURVE_*): each lies on a mounted Secret volume, mounted whole (a
// subPath mount never sees the Secret's updates, so keys could not rotate); and it is all or
// nothing: a learner that requires keys with any client that has none is a client locked out.
const CURVE_FILES = ["HOVERSLAM_CURVE_SECRET_KEY_FILE", "HOVERSLAM_CURVE_SERVER_KEY_FILE", "HOVERSLAM_CURVE_CLIENT_KEYS"];
const CURVE_NEEDS = {
  learner: ["HOVERSLAM_CURVE_SECRET_KEY_FILE", "HOVERSLAM_CURVE_CLIENT_KEYS"],
  actor: ["HOVERSLAM_CURVE_SECRET_KEY_FILE", "HOVERSLAM_CURVE_SERVER_KEY_FILE"],
  eval: ["HOVERSLAM_CURVE_SECRET_KEY_FILE", "HOVERSLAM_CURVE_SERVER_KEY_FILE"],
};

export function curve({ objects }) {
  const fail = [];
  const seen = [];
  eachContainer(objects, (pod, c, where) => {
    const env = containerEnv(c, pod.ns, objects);
    const binary = binaryOf(c);
    const has = CURVE_FILES.filter((k) => env.get(k)?.value);
    seen.push({ where, binary, has });
    for (const k of has) {
      const path = env.get(k).value;
      const mount = (c.volumeMounts ?? []).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
      const vol = mount && (pod.spec.volumes ?? []).find((v) => v.name === mount.name);
      if (!vol?.secret) fail.push(`${where}: ${k}=${path} is on no mounted Secret volume`);
      else if (mount.subPath || mount.subPathExpr) fail.push(`${where}: Secret volume ${vol.name} is mounted with subPath, so key rotation never reaches it`);
    }
  });
  if (seen.some((s) => s.has.length)) {
    for (const s of seen) {
      const missing = (CURVE_NEEDS[s.binary] ?? []).filter((k) => !s.has.includes(k));
      if (missing.length) fail.push(`${s.where}: CURVE is on elsewhere but ${missing.join(", ")} is not set`);
    }
  }
  return fail;
}

// Autoscaling (KEDA ScaledObjects, HorizontalPodAutoscalers, PrometheusRules). No published schema
// says what KEDA does with these fields, so: a scaled workload is the actor Deployment, scaled by
// one autoscaler and with no spec.replicas of its own (every apply would reset it); a
// ScaledObject has a fallback within its bounds; a prometheus trigger errors on an empty result
// (ignoreNullValues "false", so the fallback applies instead of the minimum), has the AverageValue
// target the fallback needs, and queries recording rules that exist, for its own namespace; and
// every PrometheusRule group is a group of deploy/prometheus, unchanged, so promtool tests what
// the cluster runs.
export function autoscaling({ objects, rules = new Map() }) {
  const fail = [];
  const recorded = new Set();
  for (const { group } of rules.values()) for (const r of group.rules ?? []) if (r.record) recorded.add(r.record);
  for (const pr of objects.filter((o) => o.kind === "PrometheusRule")) {
    for (const g of pr.spec?.groups ?? []) {
      for (const r of g.rules ?? []) if (r.record) recorded.add(r.record);
      const plain = rules.get(g.name);
      if (!plain) {
        fail.push(`${ref(pr)}: group ${g.name} is in no deploy/prometheus/*.rules.yml, so promtool never tests it`);
        continue;
      }
      const at = firstDifference(g, plain.group);
      if (at !== null) fail.push(`${ref(pr)}: group ${g.name} differs from ${plain.file} at ${at}`);
    }
  }
  const scalers = new Map();  // "namespace/name" of a scaled Deployment -> the autoscalers on it
  for (const obj of objects.filter((o) => o.kind === "ScaledObject" || o.kind === "HorizontalPodAutoscaler")) {
    const where = ref(obj);
    const target = obj.spec?.scaleTargetRef ?? {};
    const kind = target.kind ?? (obj.kind === "ScaledObject" ? "Deployment" : undefined);
    const apiVersion = target.apiVersion ?? (obj.kind === "ScaledObject" ? "apps/v1" : undefined);
    const dep = kind === "Deployment" && apiVersion === "apps/v1"
      ? findObject(objects, "Deployment", namespaceOf(obj), target.name) : undefined;
    if (kind !== "Deployment" || apiVersion !== "apps/v1") {
      fail.push(`${where}: scaleTargetRef is ${apiVersion} ${kind}, not the apps/v1 Deployment of the actors`);
    } else if (!dep) {
      fail.push(`${where}: scaleTargetRef names Deployment ${target.name}, which is not rendered in its namespace`);
    } else {
      const runsActor = (dep.spec?.template?.spec?.containers ?? []).some((c) => binaryOf(c) === "actor");
      if (dep.metadata?.labels?.[COMPONENT] !== "actor" || !runsActor) {
        fail.push(`${where}: scaleTargetRef ${ref(dep)} is not the actor Deployment (only actors scale)`);
      }
      if (dep.spec?.replicas !== undefined) {
        fail.push(`${ref(dep)}: sets spec.replicas but ${where} scales it (every apply would reset the count; drop the overlay's replicas: entry)`);
      }
      const key = `${namespaceOf(dep)}/${dep.metadata.name}`;
      scalers.set(key, [...(scalers.get(key) ?? []), where]);
    }
    if (obj.kind !== "ScaledObject") continue;
    const min = obj.spec?.minReplicaCount ?? 0;
    const max = obj.spec?.maxReplicaCount ?? 100;
    if (!(min <= max)) fail.push(`${where}: minReplicaCount ${min} is above maxReplicaCount ${max}`);
    const fb = obj.spec?.fallback;
    if (!fb) fail.push(`${where}: no fallback (when the metric cannot be read, KEDA would leave the count wherever it was)`);
    else {
      if (!(Number.isInteger(fb.failureThreshold) && fb.failureThreshold >= 1)) {
        fail.push(`${where}: fallback.failureThreshold ${fb.failureThreshold} is not a positive integer`);
      }
      if (!(fb.replicas >= Math.max(min, 1) && fb.replicas <= max)) {
        fail.push(`${where}: fallback.replicas ${fb.replicas} is outside ${Math.max(min, 1)}..${max}`);
      }
    }
    const triggers = obj.spec?.triggers ?? [];
    if (triggers.length === 0) fail.push(`${where}: no triggers`);
    for (const [i, t] of triggers.entries()) {
      if (t.type !== "prometheus") continue;
      const at = `${where}: trigger ${t.name ?? i}`;
      const md = t.metadata ?? {};
      if (md.ignoreNullValues !== "false") {
        fail.push(`${at}: ignoreNullValues is ${JSON.stringify(md.ignoreNullValues)}, not "false" (an empty result would read as 0 and scale to the minimum instead of the fallback)`);
      }
      if ((t.metricType ?? "AverageValue") !== "AverageValue") {
        fail.push(`${at}: metricType ${t.metricType} is not AverageValue (KEDA's fallback works with AverageValue only)`);
      }
      if (!/^https?:\/\/[^/\s]+/.test(md.serverAddress ?? "")) fail.push(`${at}: serverAddress ${JSON.stringify(md.serverAddress)} is not an http(s) URL`);
      if (!(Number(md.threshold) > 0)) fail.push(`${at}: threshold ${JSON.stringify(md.threshold)} is not a positive number`);
      const names = recordedNamesIn(md.query);
      if (names.length === 0) fail.push(`${at}: query ${JSON.stringify(md.query)} reads no recording rule`);
      for (const n of names) {
        if (!recorded.has(n)) fail.push(`${at}: query reads ${n}, which no recording rule (rendered PrometheusRule or deploy/prometheus) defines`);
      }
      const ns = /\bnamespace\s*=\s*"([^"]*)"/.exec(md.query ?? "")?.[1];
      if (ns !== namespaceOf(obj)) {
        fail.push(`${at}: query selects namespace ${JSON.stringify(ns ?? "(any)")}, not its own ${JSON.stringify(namespaceOf(obj))}`);
      }
    }
  }
  for (const [key, by] of scalers) {
    if (by.length > 1) fail.push(`Deployment ${key}: scaled by ${by.length} autoscalers (${by.join(", ")}), which would fight`);
  }
  return fail;
}

// Run on every render, in this order; gpu only on the gpu overlay.
export const GROUPS = {
  labels, selectors, "named ports": namedPorts, "env flags": envFlags, settings, probes, resources,
  security, annotations, curve, autoscaling,
};
