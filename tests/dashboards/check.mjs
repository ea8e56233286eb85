#!/usr/bin/env node
// Checks a Grafana dashboard against Grafana's published types (schema.mjs), the project's
// conventions (conventions.mjs) and Prometheus' own PromQL parser (promql.mjs), and its ConfigMap
// copy against the file. One line per check group; the last line is "N passed, M failed", and
// the exit status is 1 when M > 0.
//
//   node check.mjs --dashboard FILE --configmap FILE [--self-test]
//
// --self-test breaks copies of fixtures/valid.json (and of --dashboard, where that file exists)
// one way per check and fails unless each is caught by the group expected (self_test.mjs).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { selfTest: false };
  const names = { "--dashboard": "dashboard", "--configmap": "configmap" };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--self-test") opts.selfTest = true;
    else if (names[argv[i]] && i + 1 < argv.length) opts[names[argv[i]]] = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!opts.selfTest && (!opts.dashboard || !opts.configmap)) throw new Error("--dashboard FILE and --configmap FILE are required");
  return opts;
}

function die(message) {
  console.error(`check.mjs: ${message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

function read(path, what) {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${what} ${path}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  }
}

function readDashboard(path) {
  const text = read(path, "dashboard");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`dashboard ${path} is not JSON: ${e.message}`);
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    die(e.message);
  }
  for (const pkg of ["@grafana/schema", "typescript", "@prometheus-io/lezer-promql", "yaml"]) {
    if (!existsSync(join(here, "node_modules", pkg))) {
      die(`${join(here, "node_modules", pkg)} is missing: run .ci/install-deps.sh --tests (it runs npm ci in tests/dashboards)`);
    }
  }
  const { GROUPS } = await import("./conventions.mjs");
  const { queries } = await import("./promql.mjs");
  const { checkSchemas } = await import("./schema.mjs");
  const groups = { ...GROUPS, queries };

  if (opts.selfTest) {
    const { selfTest } = await import("./self_test.mjs");
    const { passed, failed } = selfTest({ groups, checkSchemas, dashboardFile: opts.dashboard });
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed > 0 ? 1 : 0);
  }

  let dashboard, configMap;
  try {
    dashboard = readDashboard(opts.dashboard);
    configMap = read(opts.configmap, "ConfigMap");
  } catch (e) {
    die(e.message);
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
  const run = (fn) => {
    try {
      return fn();
    } catch (e) {
      return [`the check itself threw: ${e.stack ?? e}`];
    }
  };
  report("schema", run(() => checkSchemas([dashboard])[0]));
  for (const [name, fn] of Object.entries(groups)) report(name, run(() => fn({ dashboard, configMap })));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => die(e.stack ?? String(e)));
