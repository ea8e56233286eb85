// Helpers over a rendered list of Kubernetes objects: pod templates, label selectors, env values,
// quantities. Pure functions; the checks in checks.mjs are built from these.

export function ref(obj) {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj.kind} ${ns}${obj.metadata?.name ?? "<unnamed>"}`;
}

export const namespaceOf = (obj) => obj.metadata?.namespace ?? "";

// Every pod template in the set, with the object that owns it.
export function podTemplates(objects) {
  const out = [];
  for (const obj of objects) {
    let template;
    switch (obj.kind) {
      case "Deployment":
      case "StatefulSet":
      case "DaemonSet":
      case "ReplicaSet":
      case "Job":
        template = obj.spec?.template;
        break;
      case "CronJob":
        template = obj.spec?.jobTemplate?.spec?.template;
        break;
      case "Pod":
        template = obj;
        break;
      default:
        continue;
    }
    if (template) {
      out.push({
        owner: obj,
        ns: namespaceOf(obj),
        labels: template.metadata?.labels ?? {},
        annotations: template.metadata?.annotations ?? {},
        spec: template.spec ?? {},
      });
    }
  }
  return out;
}

export function containersOf(pod) {
  return [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
}

// A metav1.LabelSelector (matchLabels + matchExpressions) against a label map.
export function selectorMatches(selector, labels) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// A Service's plain map selector.
export const mapSelectorMatches = (selector, labels) =>
  !!selector && selectorMatches({ matchLabels: selector }, labels);

export function containerPortByName(container, name) {
  return (container.ports ?? []).find((p) => p.name === name);
}

export function podPortByName(pod, name) {
  for (const c of containersOf(pod)) {
    const p = containerPortByName(c, name);
    if (p) return p;
  }
  return undefined;
}

export function findObject(objects, kind, ns, name) {
  return objects.find((o) => o.kind === kind && namespaceOf(o) === ns && o.metadata?.name === name);
}

// Which hoverslam binary a container runs: named in command/args, else the image's entrypoint
// (hoverslam-learner[-cuda], hoverslam-actor). Undefined when it cannot be told.
export function binaryOf(container) {
  for (const word of [...(container.command ?? []), ...(container.args ?? [])]) {
    const m = /(?:^|\/)hoverslam-(learner|actor|eval)$/.exec(String(word));
    if (m) return m[1];
  }
  if (container.command?.length) return undefined;
  const repo = String(container.image ?? "").split("@")[0].split("/").pop().split(":")[0];
  if (repo.startsWith("hoverslam-learner")) return "learner";
  if (repo === "hoverslam-actor") return "actor";
  return undefined;
}

export function imageRepo(image) {
  return String(image ?? "").split("@")[0].split("/").pop().split(":")[0];
}

// The env a container sees from its spec: name -> {value?, from}. Values from configMapKeyRef are
// looked up in the rendered ConfigMaps; downward-API and secret values stay undefined.
export function containerEnv(container, ns, objects) {
  const env = new Map();
  for (const src of container.envFrom ?? []) {
    const cmName = src.configMapRef?.name;
    const cm = cmName && findObject(objects, "ConfigMap", ns, cmName);
    for (const [k, v] of Object.entries(cm?.data ?? {})) {
      env.set(`${src.prefix ?? ""}${k}`, { value: v, from: `envFrom ConfigMap ${cmName}` });
    }
  }
  for (const e of container.env ?? []) {
    let value = e.value;
    const keyRef = e.valueFrom?.configMapKeyRef;
    if (keyRef) value = findObject(objects, "ConfigMap", ns, keyRef.name)?.data?.[keyRef.key];
    env.set(e.name, { value, from: keyRef ? `ConfigMap ${keyRef.name} key ${keyRef.key}` : "env" });
  }
  return env;
}

// The flag names on a container's command line after the binary, as HOVERSLAM_ names.
export function argFlags(container) {
  const words = [...(container.command ?? []), ...(container.args ?? [])].map(String);
  return words
    .filter((w) => /^--[a-z0-9][a-z0-9-]*(=.*)?$/.test(w))
    .map((w) => w.slice(2).split("=")[0])
    .filter((f) => !["help", "list-env"].includes(f))
    .map((f) => ({ flag: `--${f}`, env: `HOVERSLAM_${f.toUpperCase().replace(/-/g, "_")}` }));
}

const SUFFIX = {
  m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

// A resource.Quantity ("512Mi", "250m", 1) as a number; NaN when malformed.
export function parseQuantity(q) {
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(String(q ?? ""));
  if (!m) return NaN;
  if (m[2] === "") return Number(m[1]);
  return m[2] in SUFFIX ? Number(m[1]) * SUFFIX[m[2]] : NaN;
}

// What Kubernetes' service links would put in a pod's env for a Service: NAME_SERVICE_HOST & co.
export const serviceLinkPrefix = (serviceName) => serviceName.toUpperCase().replace(/-/g, "_") + "_";

// Where two parsed YAML documents first differ, as a path ("rules[4].expr"); null when equal.
// Key order does not count, array order does.
export function firstDifference(a, b, path = "") {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return path || "(root)";
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d !== null) return d;
    }
    return null;
  }
  return a === b ? null : path || "(root)";
}

// The recording-rule names (level:metric:operation, so with a colon) a PromQL query reads;
// quoted strings are skipped, so a label value with a colon is not taken for one.
export function recordedNamesIn(query) {
  const bare = String(query ?? "").replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  return [...new Set(bare.match(/[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*/g) ?? [])];
}
