// The validator's own test: the rendered gpu overlay (it has every workload kind the checks look
// at) and cpu-autoscaled (the ScaledObject and PrometheusRule) must pass every group, and each
// deliberately broken copy below must fail the group named, with a message naming the broken
// object. A check that lets its case through is a failed line here.
const clone = (x) => JSON.parse(JSON.stringify(x));
const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const pod = (objects, kind, name) => find(objects, kind, name).spec.template.spec;
const container = (objects, kind, name) => pod(objects, kind, name).containers[0];
const actor = (o) => container(o, "Deployment", "hoverslam-actor");
const learner = (o) => container(o, "StatefulSet", "hoverslam-learner");
const evaluator = (o) => container(o, "Deployment", "hoverslam-evaluator");
const scaled = (o) => find(o, "ScaledObject", "hoverslam-actor");
const trigger = (o) => scaled(o).spec.triggers[0];
const ruleGroup = (o) => find(o, "PrometheusRule", "hoverslam-scaling").spec.groups[0];
const alertGroup = (o) => find(o, "PrometheusRule", "hoverslam-alerts").spec.groups[0];

// [description, group expected to fail, text the failure must contain, mutation], on the gpu overlay
const CASES = [
  ["unknown kind", "schema", "Widget hoverslam/gadget", (o) => o.push({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "gadget", namespace: "hoverslam" } })],
  ["replicas not an integer", "schema", "Deployment hoverslam/hoverslam-actor", (o) => { find(o, "Deployment", "hoverslam-actor").spec.replicas = "two"; }],
  ["container without a name", "schema", "StatefulSet hoverslam/hoverslam-learner", (o) => { delete learner(o).name; }],
  ["missing part-of label", "labels", "PodDisruptionBudget hoverslam/hoverslam-actor", (o) => { delete find(o, "PodDisruptionBudget", "hoverslam-actor").metadata.labels["app.kubernetes.io/part-of"]; }],
  ["workload selector differs from its pod labels", "selectors", "Deployment hoverslam/hoverslam-actor", (o) => { find(o, "Deployment", "hoverslam-actor").spec.selector.matchLabels["app.kubernetes.io/component"] = "actors"; }],
  ["Service selects no pod", "selectors", "Service hoverslam/hoverslam-learner", (o) => { find(o, "Service", "hoverslam-learner").spec.selector["app.kubernetes.io/component"] = "lerner"; }],
  ["PodDisruptionBudget selects no pod", "selectors", "PodDisruptionBudget hoverslam/hoverslam-actor", (o) => { find(o, "PodDisruptionBudget", "hoverslam-actor").spec.selector.matchLabels["app.kubernetes.io/name"] = "other"; }],
  ["NetworkPolicy peer selects no pod", "selectors", "NetworkPolicy hoverslam/hoverslam-learner", (o) => { find(o, "NetworkPolicy", "hoverslam-learner").spec.ingress[0].from[0].podSelector.matchLabels["app.kubernetes.io/component"] = "actr"; }],
  ["PodMonitor selects no pod", "selectors", "PodMonitor hoverslam/hoverslam", (o) => { find(o, "PodMonitor", "hoverslam").spec.selector.matchLabels["app.kubernetes.io/name"] = "hoverslm"; }],
  ["Service targetPort names no container port", "named ports", "Service hoverslam/hoverslam-learner", (o) => { find(o, "Service", "hoverslam-learner").spec.ports[0].targetPort = "trajectory"; }],
  ["PodMonitor port missing on a pod", "named ports", "PodMonitor hoverslam/hoverslam", (o) => { actor(o).ports[0].name = "prom"; }],
  ["NetworkPolicy port names no container port", "named ports", "NetworkPolicy hoverslam/hoverslam-learner", (o) => { find(o, "NetworkPolicy", "hoverslam-learner").spec.ingress[1].ports[0].port = "weight"; }],
  ["unknown HOVERSLAM_ name", "env flags", "Deployment hoverslam/hoverslam-actor container actor: HOVERSLAM_NUM_ENV", (o) => { actor(o).env.push({ name: "HOVERSLAM_NUM_ENV", value: "8" }); }],
  ["learner-only flag given to the actor", "env flags", "HOVERSLAM_DEVICE", (o) => { actor(o).env.push({ name: "HOVERSLAM_DEVICE", value: "cpu" }); }],
  ["unknown flag in args", "env flags", "argument --wach", (o) => { evaluator(o).args = ["--wach"]; }],
  ["configMapKeyRef to a missing key", "env flags", "missing from ConfigMap hoverslam-config", (o) => { delete find(o, "ConfigMap", "hoverslam-config").data.HOVERSLAM_NUM_ENVS; }],
  ["envFrom brings a name the binary lacks", "env flags", "HOVERSLAM_DEVICE (envFrom ConfigMap hoverslam-config)", (o) => { evaluator(o).envFrom = [{ configMapRef: { name: "hoverslam-config" } }]; }],
  ["service links left on", "env flags", "HOVERSLAM_LEARNER_SERVICE_HOST", (o) => { delete pod(o, "Deployment", "hoverslam-evaluator").enableServiceLinks; }],
  ["binary cannot be told", "env flags", "cannot tell which hoverslam binary", (o) => { actor(o).image = "busybox:1.36"; }],
  ["metrics port env disagrees with the port", "settings", "HOVERSLAM_METRICS_PORT=9101 but its port metrics is 9200", (o) => { actor(o).ports[0].containerPort = 9200; }],
  ["actors point at a Service port the learner lacks", "settings", "HOVERSLAM_TRAJECTORY_PORT=5555 is not a port of Service", (o) => { find(o, "Service", "hoverslam-learner").spec.ports[0].port = 6555; }],
  ["checkpoint dir on no volume", "settings", "HOVERSLAM_CHECKPOINT_DIR=/data/checkpoints", (o) => { learner(o).env.find((e) => e.name === "HOVERSLAM_CHECKPOINT_DIR").value = "/data/checkpoints"; }],
  ["ConfigMap key nobody reads", "settings", "key HOVERSLAM_SEED is read by no container", (o) => { find(o, "ConfigMap", "hoverslam-config").data.HOVERSLAM_SEED = "7"; }],
  ["evaluator of another env", "settings", "lunar_lander_continuous in Deployment hoverslam/hoverslam-evaluator container evaluator", (o) => { const e = evaluator(o).env.find((x) => x.name === "HOVERSLAM_ENV"); delete e.valueFrom; e.value = "lunar_lander_continuous"; }],
  ["probe on /metrics", "probes", "livenessProbe path is /metrics", (o) => { actor(o).livenessProbe.httpGet.path = "/metrics"; }],
  ["probe on a port number", "probes", "readinessProbe port 9100 is not a named port", (o) => { learner(o).readinessProbe.httpGet.port = 9100; }],
  ["no readiness probe", "probes", "container evaluator: no readinessProbe", (o) => { delete evaluator(o).readinessProbe; }],
  ["no memory limit", "resources", "container actor: no resources.limits.memory", (o) => { delete actor(o).resources.limits.memory; }],
  ["memory limit below request", "resources", "memory limit 32Mi is below its request 64Mi", (o) => { actor(o).resources.limits.memory = "32Mi"; }],
  ["writable root filesystem", "security", "container learner: readOnlyRootFilesystem is not true", (o) => { learner(o).securityContext.readOnlyRootFilesystem = false; }],
  ["no /tmp emptyDir", "security", "no emptyDir mounted at /tmp", (o) => { evaluator(o).volumeMounts = evaluator(o).volumeMounts.filter((m) => m.mountPath !== "/tmp"); }],
  ["runs as root", "security", "runAsUser is not 10001", (o) => { actor(o).securityContext.runAsUser = 0; }],
  ["capabilities kept", "security", "capabilities do not drop ALL", (o) => { evaluator(o).securityContext.capabilities.drop = []; }],
  ["no seccomp profile", "security", "seccompProfile is not RuntimeDefault", (o) => { delete pod(o, "StatefulSet", "hoverslam-learner").securityContext.seccompProfile; }],
  ["prometheus port annotation stale", "annotations", "prometheus.io/port is 9100, its metrics port is 9101", (o) => { find(o, "Deployment", "hoverslam-actor").spec.template.metadata.annotations["prometheus.io/port"] = "9100"; }],
  ["alerting PrometheusRule drifted from the plain file", "autoscaling", "PrometheusRule hoverslam/hoverslam-alerts: group hoverslam-alerts differs from deploy/prometheus/alerts.rules.yml at rules[2].expr", (o) => { alertGroup(o).rules[2].expr = alertGroup(o).rules[2].expr.replace("> 0.5", "> 0.6"); }],
  ["client keys mounted with subPath", "curve", "mounted with subPath", (o) => { learner(o).volumeMounts.find((m) => m.name === "curve-clients").subPath = "actor.pub"; }],
  ["key file on no Secret volume", "curve", "HOVERSLAM_CURVE_SERVER_KEY_FILE=/keys/learner.pub is on no mounted Secret volume", (o) => { actor(o).env.find((e) => e.name === "HOVERSLAM_CURVE_SERVER_KEY_FILE").value = "/keys/learner.pub"; }],
  ["evaluator without CURVE keys", "curve", "container evaluator: CURVE is on elsewhere but HOVERSLAM_CURVE_SECRET_KEY_FILE", (o) => { evaluator(o).env = evaluator(o).env.filter((e) => !e.name.startsWith("HOVERSLAM_CURVE")); }],
  ["gpu learner on the CPU image", "gpu", "is not hoverslam-learner-cuda", (o) => { learner(o).image = "hoverslam-learner:latest"; }],
  ["gpu learner without the toleration", "gpu", "does not tolerate the nvidia.com/gpu", (o) => { pod(o, "StatefulSet", "hoverslam-learner").tolerations = []; }],
  ["gpu learner without a GPU", "gpu", "no nvidia.com/gpu limit", (o) => { delete learner(o).resources.limits["nvidia.com/gpu"]; }],
];

// The same, on the cpu-autoscaled overlay.
const AUTOSCALED_CASES = [
  ["ScaledObject without a fallback", "autoscaling", "ScaledObject hoverslam/hoverslam-actor: no fallback", (o) => { delete scaled(o).spec.fallback; }],
  ["fallback above maxReplicaCount", "autoscaling", "fallback.replicas 40 is outside 1..16", (o) => { scaled(o).spec.fallback.replicas = 40; }],
  ["minReplicaCount above maxReplicaCount", "autoscaling", "minReplicaCount 20 is above maxReplicaCount 16", (o) => { scaled(o).spec.minReplicaCount = 20; }],
  ["empty result read as zero", "autoscaling", 'ignoreNullValues is "true"', (o) => { trigger(o).metadata.ignoreNullValues = "true"; }],
  ["ignoreNullValues left out", "autoscaling", "ignoreNullValues is undefined", (o) => { delete trigger(o).metadata.ignoreNullValues; }],
  ["Value target, which has no fallback", "autoscaling", "metricType Value is not AverageValue", (o) => { trigger(o).metricType = "Value"; }],
  ["ScaledObject scales the evaluator", "autoscaling", "scaleTargetRef Deployment hoverslam/hoverslam-evaluator is not the actor", (o) => { scaled(o).spec.scaleTargetRef.name = "hoverslam-evaluator"; }],
  ["ScaledObject names a missing Deployment", "autoscaling", "names Deployment hoverslam-actors, which is not rendered", (o) => { scaled(o).spec.scaleTargetRef.name = "hoverslam-actors"; }],
  ["ScaledObject scales the learner StatefulSet", "autoscaling", "scaleTargetRef is apps/v1 StatefulSet", (o) => { Object.assign(scaled(o).spec.scaleTargetRef, { kind: "StatefulSet", name: "hoverslam-learner" }); }],
  ["query reads a rule nobody records", "autoscaling", "query reads hoverslam:actors_wanted", (o) => { trigger(o).metadata.query = 'hoverslam:actors_wanted{namespace="hoverslam"}'; }],
  ["query for another namespace", "autoscaling", 'query selects namespace "default"', (o) => { trigger(o).metadata.query = 'hoverslam:actors_desired{namespace="default"}'; }],
  ["query for every namespace", "autoscaling", 'query selects namespace "(any)"', (o) => { trigger(o).metadata.query = "hoverslam:actors_desired"; }],
  ["actor Deployment keeps its replicas", "autoscaling", "Deployment hoverslam/hoverslam-actor: sets spec.replicas", (o) => { find(o, "Deployment", "hoverslam-actor").spec.replicas = 2; }],
  ["an HPA beside the ScaledObject", "autoscaling", "scaled by 2 autoscalers", (o) => o.push({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "actors", namespace: "hoverslam" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "hoverslam-actor" }, maxReplicas: 4 } })],
  ["PrometheusRule drifted from the plain file", "autoscaling", "group hoverslam-scaling differs from deploy/prometheus/scaling.rules.yml at rules[4].expr", (o) => { ruleGroup(o).rules[4].expr = ruleGroup(o).rules[4].expr.replace("0.1", "0.2"); }],
  ["PrometheusRule group with no plain file", "autoscaling", "group hoverslam-extra is in no deploy/prometheus", (o) => { ruleGroup(o).name = "hoverslam-extra"; }],
];

export function selfTest({ renders, flags, rules, groups }) {
  let passed = 0;
  let failed = 0;
  const line = (ok, text, details = []) => {
    ok ? passed++ : failed++;
    console.log(`${ok ? "ok   " : "FAIL "} self-test: ${text}`);
    for (const d of details) console.log(`        ${d}`);
  };
  for (const [overlay, cases] of [["gpu", CASES], ["cpu-autoscaled", AUTOSCALED_CASES]]) {
    const objects = renders[overlay];
    for (const [name, fn] of Object.entries(groups)) {
      if (name === "gpu" && overlay !== "gpu") continue;
      const f = fn({ objects: clone(objects), flags, rules });
      line(f.length === 0, `the unbroken ${overlay} overlay passes ${name}`, f);
    }
    for (const [what, group, expect, mutate] of cases) {
      const broken = clone(objects);
      mutate(broken);
      const f = groups[group]({ objects: broken, flags, rules });
      const caught = f.some((m) => m.includes(expect));
      line(caught, `${group} catches: ${what}`, caught ? [] : [`expected a failure containing "${expect}", got: ${JSON.stringify(f)}`]);
    }
  }
  return { passed, failed };
}
