#!/usr/bin/env node
// Validates deploy/k8s: renders every overlay (and every component no overlay includes, on top of
// base) with `kubectl kustomize`, validates each object against its Kubernetes schema, then runs
// the checks in checks.mjs (which also compare PrometheusRules with the plain rule files in
// deploy/prometheus). One line per check group and render; the last line is "N passed, M failed",
// and the exit status is 1 when M > 0.
//
//   node validate.mjs --learner-bin P --actor-bin P --eval-bin P [--repo DIR] [--kubectl P] [--self-test]
//
// --self-test feeds deliberately broken copies of rendered overlays (gpu, cpu-autoscaled) through
// the same checks and fails unless each is caught (self_test.mjs).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { repo: resolve(here, "../../.."), kubectl: "kubectl", selfTest: false };
  const names = { "--learner-bin": "learner", "--actor-bin": "actor", "--eval-bin": "eval", "--repo": "repo", "--kubectl": "kubectl" };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--self-test") opts.selfTest = true;
    else if (names[argv[i]] && i + 1 < argv.length) opts[names[argv[i]]] = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  for (const b of ["learner", "actor", "eval"]) {
    if (!opts[b]) throw new Error(`--${b}-bin is required (the hoverslam-${b} binary whose --list-env is checked)`);
  }
  return opts;
}

function die(message) {
  console.error(`validate.mjs: ${message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// `<binary> --list-env`: the HOVERSLAM_* names the binary reads.
function listEnv(path) {
  const r = spawnSync(path, ["--list-env"], { encoding: "utf8", timeout: 30000 });
  if (r.error || r.status !== 0) {
    throw new Error(`${path} --list-env failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || "").trim()}`);
  }
  const names = r.stdout.split("\n").map((l) => l.trim()).filter((l) => /^HOVERSLAM_[A-Z0-9_]+$/.test(l));
  if (names.length === 0) throw new Error(`${path} --list-env printed no HOVERSLAM_* name`);
  return new Set(names);
}

function makeRenderer(opts, YAML) {
  const kubectl = opts.kubectl;
  const probe = spawnSync(kubectl, ["version", "--client"], { encoding: "utf8" });
  if (probe.error) throw new Error(`kubectl not found (${kubectl}): install kubectl >= 1.27 or pass --kubectl PATH`);
  return (dir) => {
    const r = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${(r.stderr || "").trim()}`);
    return YAML.parseAllDocuments(r.stdout).map((d) => {
      if (d.errors.length) throw new Error(`kubectl kustomize ${dir}: bad YAML: ${d.errors[0].message}`);
      return d.toJS();
    }).filter((o) => o);
  };
}

// The plain Prometheus rule groups (deploy/prometheus/*.rules.yml; the *.test.yml files are
// promtool's tests): group name -> {file, group}.
function loadRuleGroups(repo, YAML) {
  const dir = join(repo, "deploy", "prometheus");
  const groups = new Map();
  for (const f of existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".rules.yml")).sort() : []) {
    const file = `deploy/prometheus/${f}`;
    const doc = YAML.parse(readFileSync(join(dir, f), "utf8")) ?? {};
    for (const group of doc.groups ?? []) {
      if (groups.has(group.name)) throw new Error(`rule group ${group.name} is in both ${groups.get(group.name).file} and ${file}`);
      groups.set(group.name, { file, group });
    }
  }
  return groups;
}

// Overlays, plus one render of base with each component that no overlay includes.
function renderTargets(k8s, YAML) {
  const overlaysDir = join(k8s, "overlays");
  const overlays = readdirSync(overlaysDir).filter((d) => existsSync(join(overlaysDir, d, "kustomization.yaml")));
  const included = new Set();
  for (const o of overlays) {
    const k = YAML.parse(readFileSync(join(overlaysDir, o, "kustomization.yaml"), "utf8")) ?? {};
    for (const c of k.components ?? []) included.add(resolve(overlaysDir, o, c));
  }
  const targets = overlays.map((o) => ({ name: o, dir: join(overlaysDir, o), overlay: o }));
  const componentsDir = join(k8s, "components");
  const components = existsSync(componentsDir) ? readdirSync(componentsDir) : [];
  for (const c of components) {
    const dir = join(componentsDir, c);
    if (included.has(dir) || !existsSync(join(dir, "kustomization.yaml"))) continue;
    const tmp = mkdtempSync(join(tmpdir(), "hoverslam-k8s-"));
    // Kustomize takes only relative paths.
    writeFileSync(join(tmp, "kustomization.yaml"), YAML.stringify({
      apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization",
      resources: [relative(tmp, join(k8s, "base"))], components: [relative(tmp, dir)],
    }));
    targets.push({ name: `base+components/${c}`, dir: tmp, temporary: true });
  }
  return targets;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    die(e.message);
  }
  if (!existsSync(join(here, "node_modules", "kubernetes-models"))) {
    die(`${join(here, "node_modules")} is missing: run .ci/install-deps.sh (it runs npm ci in tests/deploy/k8s)`);
  }
  const YAML = (await import("yaml")).default;
  const { schema } = await import("./schema.mjs");
  const { GROUPS, gpu } = await import("./checks.mjs");

  let flags, render, rules;
  try {
    flags = { learner: listEnv(opts.learner), actor: listEnv(opts.actor), eval: listEnv(opts.eval) };
    render = makeRenderer(opts, YAML);
    rules = loadRuleGroups(resolve(opts.repo), YAML);
  } catch (e) {
    die(e.message);
  }
  const k8s = resolve(opts.repo, "deploy", "k8s");
  if (!existsSync(join(k8s, "base", "kustomization.yaml"))) die(`no ${k8s}/base/kustomization.yaml (is --repo the repository root?)`);

  const groups = { schema, ...GROUPS };
  if (opts.selfTest) {
    const { selfTest } = await import("./self_test.mjs");
    const renders = {};
    for (const o of ["gpu", "cpu-autoscaled"]) renders[o] = render(join(k8s, "overlays", o));
    const { passed, failed } = selfTest({ renders, flags, rules, groups: { ...groups, gpu } });
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed > 0 ? 1 : 0);
  }

  let passed = 0;
  let failed = 0;
  const report = (name, failures) => {
    if (failures.length === 0) {
      passed++;
      console.log(`ok    ${name}`);
    } else {
      failed++;
      console.log(`FAIL  ${name}`);
      for (const f of failures) console.log(`        ${f}`);
    }
  };
  for (const t of renderTargets(k8s, YAML)) {
    let objects;
    try {
      objects = render(t.dir);
      report(`${t.name}: render (${objects.length} objects)`, []);
    } catch (e) {
      report(`${t.name}: render`, [e.message]);
      continue;
    } finally {
      if (t.temporary) rmSync(t.dir, { recursive: true, force: true });
    }
    const ctx = { objects, flags, rules, render: t.name };
    for (const [g, fn] of Object.entries(groups)) report(`${t.name}: ${g}`, fn(ctx));
    if (t.overlay === "gpu") report(`${t.name}: gpu learner`, gpu(ctx));
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => die(e.stack ?? String(e)));
