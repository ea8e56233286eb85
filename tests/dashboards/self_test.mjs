// The checker's own test: fixtures/valid.json must pass every group, and each deliberately broken
// copy below must fail the group named, with a message that names what was broken. Where the
// real dashboard exists, the same cases that apply to it are run on it too: each must add a
// failure it did not have before. A check that lets its case through is a failed line here.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { allPanels, panelLabel, panelsOf } from "./dashboard.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const clone = (x) => structuredClone(x);

// The ConfigMap dashboards/generate.py writes, made here from the dashboard itself.
export const configMapOf = (dashboard) =>
  YAML.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "hoverslam-dashboard", labels: { grafana_dashboard: "1" } },
    data: { "hoverslam.json": `${JSON.stringify(dashboard, null, 2)}\n` },
  });

// Finders: each returns undefined where the dashboard has nothing to break that way, and the
// case is then left out for that dashboard.
const ofType = (d, type) => panelsOf(d).find(({ panel }) => panel.type === type)?.panel;
const first = (d) => panelsOf(d)[0]?.panel;
const queried = (d) => panelsOf(d).find(({ panel }) => typeof panel.targets?.[0]?.expr === "string")?.panel;
const variable = (d, name) => d.templating?.list?.find((v) => v.name === name);
// Two panels shown together: both at the top level, or both inside one collapsed row.
function twoTogether(d) {
  const top = (d.panels ?? []).filter((p) => p.type !== "row");
  if (top.length >= 2) return top;
  return (d.panels ?? []).find((r) => r.type === "row" && (r.panels ?? []).length >= 2)?.panels;
}
// A query that breaks one rule, on the first queried panel.
const query = (expr) => ({ dashboard: d }) => {
  const p = queried(d);
  if (!p) return undefined;
  p.targets[0].expr = expr;
  return `${panelLabel(p)} query ${p.targets[0].refId}: `;
};
const M = 'hoverslam_learner_env_steps_trained_total';
const NS = 'namespace=~"$namespace"';

// [what, group, mutation, text]: the mutation breaks s.dashboard (or s.configMap) and returns text
// the failure must contain (the panel, for a query), or undefined when it does not apply; the
// failure must contain the optional fourth text as well.
const CASES = [
  ["unknown option key", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "timeseries");
    if (!p?.options?.legend) return undefined;
    p.options.legend.showLegnd = true;
    return `${panelLabel(p)}: options.legend.showLegnd: unknown property "showLegnd"`;
  }],
  ["wrong option type", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "timeseries");
    if (!p?.options?.legend) return undefined;
    p.options.legend.showLegend = "yes";
    return `${panelLabel(p)}: options.legend.showLegend: Type 'string' is not assignable to type 'boolean'`;
  }],
  ["required option missing", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "stat");
    if (!p?.options) return undefined;
    delete p.options.reduceOptions;
    return `${panelLabel(p)}: options: Property 'reduceOptions' is missing`;
  }],
  ["enum option misspelt", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "stat");
    if (!p?.options) return undefined;
    p.options.colorMode = "backgrund";
    return `${panelLabel(p)}: options.colorMode: Type '"backgrund"' is not assignable`;
  }],
  ["unknown custom field config", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "timeseries");
    if (!p?.fieldConfig?.defaults?.custom) return undefined;
    p.fieldConfig.defaults.custom.lineWidht = 2;
    return `${panelLabel(p)}: fieldConfig.defaults.custom.lineWidht: unknown property "lineWidht"`;
  }],
  ["custom field config of the wrong type", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "heatmap");
    if (!p?.fieldConfig?.defaults) return undefined;
    p.fieldConfig.defaults.custom = { ...p.fieldConfig.defaults.custom, scaleDistribution: { type: "logarithmic" } };
    return `${panelLabel(p)}: fieldConfig.defaults.custom.scaleDistribution.type: Type '"logarithmic"' is not assignable`;
  }],
  ["custom field config on a stat", "schema", ({ dashboard: d }) => {
    const p = ofType(d, "stat");
    if (!p?.fieldConfig?.defaults) return undefined;
    p.fieldConfig.defaults.custom = { lineWidth: 1 };
    return `${panelLabel(p)}: fieldConfig.defaults.custom: stat panels take no custom field config`;
  }],
  ["unknown field config key", "schema", ({ dashboard: d }) => {
    const p = first(d);
    if (!p?.fieldConfig?.defaults) return undefined;
    p.fieldConfig.defaults.unitt = "s";
    return `${panelLabel(p)}: fieldConfig.defaults.unitt: unknown property "unitt"`;
  }],
  ["fieldConfig without overrides", "schema", ({ dashboard: d }) => {
    const p = first(d);
    if (!p?.fieldConfig) return undefined;
    delete p.fieldConfig.overrides;
    return `${panelLabel(p)}: fieldConfig: Property 'overrides' is missing`;
  }],
  ["misspelt panel key", "schema", ({ dashboard: d }) => {
    const p = first(d);
    if (!p) return undefined;
    p.maxDataPoint = 100;
    return `${panelLabel(p)}: maxDataPoint: unknown property "maxDataPoint"`;
  }],
  ["option typo in a panel held by a collapsed row", "schema", ({ dashboard: d }) => {
    const r = d.panels?.find((p) => p.type === "row");
    const p = ofType(d, "timeseries");
    if (!r || !p?.options) return undefined;
    d.panels = d.panels.filter((q) => q !== p);
    r.collapsed = true;
    r.panels = [...(r.panels ?? []), p];
    p.options.tooltip = { ...p.options.tooltip, mode: "everything" };
    return `${panelLabel(p)}: options.tooltip.mode: Type '"everything"' is not assignable`;
  }],
  ["unknown panel type", "schema", ({ dashboard: d }) => {
    const p = first(d);
    if (!p) return undefined;
    p.type = "graph";
    return `${panelLabel(p)}: type "graph" has no checked schema`;
  }],
  ["row with a non-boolean collapsed", "schema", ({ dashboard: d }) => {
    const r = d.panels?.find((p) => p.type === "row");
    if (!r) return undefined;
    r.collapsed = "no";
    return `${panelLabel(r)}: collapsed: Type 'string' is not assignable to type 'boolean'`;
  }],
  ["variable with a hide value Grafana lacks", "schema", ({ dashboard: d }) => {
    const v = variable(d, "namespace");
    if (!v) return undefined;
    v.hide = 9;
    return `variable "namespace": hide: Type '9' is not assignable`;
  }],
  ["schemaVersion as a string", "schema", ({ dashboard: d }) => {
    d.schemaVersion = "41";
    return `dashboard: schemaVersion: Type 'string' is not assignable to type 'number'`;
  }],

  ["duplicate id", "layout", ({ dashboard: d }) => {
    const [a, b] = panelsOf(d).map(({ panel }) => panel);
    if (!b) return undefined;
    b.id = a.id;
    return `duplicate id ${a.id}`;
  }],
  ["duplicate id inside a row", "layout", ({ dashboard: d }) => {
    const r = d.panels?.find((p) => p.type === "row");
    const p = first(d);
    if (!r || !p) return undefined;
    r.panels = [...(r.panels ?? []), { ...clone(p), gridPos: { x: 0, y: 500, w: 1, h: 1 } }];
    r.collapsed = true;
    return `duplicate id ${p.id}`;
  }],
  ["overlapping panels", "layout", ({ dashboard: d }) => {
    const pair = twoTogether(d);
    if (!pair) return undefined;
    pair[1].gridPos = { ...pair[0].gridPos };
    return `${panelLabel(pair[0])} and ${panelLabel(pair[1])} overlap`;
  }],
  ["x+w past 24", "layout", ({ dashboard: d }) => {
    const p = first(d);
    if (!p?.gridPos) return undefined;
    p.gridPos.x = 25 - p.gridPos.w;
    return `${panelLabel(p)}: gridPos`;
  }, "x+w = 25 is past the grid's 24 columns"],
  ["width not an integer", "layout", ({ dashboard: d }) => {
    const p = first(d);
    if (!p?.gridPos) return undefined;
    p.gridPos.w = 7.5;
    return `${panelLabel(p)}: gridPos`;
  }, "lacks integer x, y, w, h"],
  ["zero height", "layout", ({ dashboard: d }) => {
    const p = first(d);
    if (!p?.gridPos) return undefined;
    p.gridPos.h = 0;
    return `${panelLabel(p)}: gridPos`;
  }, "w and h must be > 0"],
  ["row two units high", "layout", ({ dashboard: d }) => {
    const r = d.panels?.find((p) => p.type === "row");
    if (!r?.gridPos) return undefined;
    r.gridPos.h = 2;
    return `${panelLabel(r)}: gridPos`;
  }, "a row is x=0, w=24, h=1"],
  ["rows out of order", "layout", ({ dashboard: d }) => {
    const [a, b] = (d.panels ?? []).filter((p) => p.type === "row");
    if (!b) return undefined;
    [a.gridPos.y, b.gridPos.y] = [b.gridPos.y, a.gridPos.y];
    return `${panelLabel(b)}: y=${b.gridPos.y} is not below the ${panelLabel(a)} listed before it`;
  }],
  ["panel listed under a row it is above", "layout", ({ dashboard: d }) => {
    const top = d.panels ?? [];
    const i = top.findIndex((p, k) => k > 0 && p.type !== "row" && top[k - 1].type === "row" && top[k - 1].gridPos?.y > 0);
    if (i < 0) return undefined;
    top[i].gridPos.y = 0;
    return `${panelLabel(top[i])}: y=0 is above the ${panelLabel(top[i - 1])} it is listed under`;
  }],

  ["missing unit", "panels", ({ dashboard: d }) => {
    const p = first(d);
    if (!p?.fieldConfig?.defaults) return undefined;
    delete p.fieldConfig.defaults.unit;
    return `${panelLabel(p)}: no fieldConfig.defaults.unit`;
  }],
  ["missing description", "panels", ({ dashboard: d }) => {
    const p = first(d);
    if (!p) return undefined;
    p.description = " ";
    return `${panelLabel(p)}: no description`;
  }],
  ["missing title", "panels", ({ dashboard: d }) => {
    const p = first(d);
    if (!p) return undefined;
    delete p.title;
    return `${panelLabel(p)}: no title`;
  }],
  ["datasource with a hard-coded uid", "panels", ({ dashboard: d }) => {
    const p = first(d);
    if (!p) return undefined;
    p.datasource = { type: "prometheus", uid: "P1809F7CD0C75ACF3" };
    return `${panelLabel(p)}: datasource {"type":"prometheus","uid":"P1809F7CD0C75ACF3"} is not`;
  }],
  ["target with a hard-coded datasource", "panels", ({ dashboard: d }) => {
    const p = queried(d);
    if (!p) return undefined;
    p.targets[0].datasource = { type: "prometheus", uid: "prom" };
    return `${panelLabel(p)}: target 0`;
  }],
  ["no targets", "panels", ({ dashboard: d }) => {
    const p = first(d);
    if (!p) return undefined;
    p.targets = [];
    return `${panelLabel(p)}: no targets`;
  }],
  ["empty expr", "panels", ({ dashboard: d }) => {
    const p = queried(d);
    if (!p) return undefined;
    p.targets[0].expr = "";
    return `${panelLabel(p)}: target 0 (refId ${JSON.stringify(p.targets[0].refId)}) has no expr`;
  }],
  ["refId used twice", "panels", ({ dashboard: d }) => {
    const p = queried(d);
    if (!p) return undefined;
    p.targets.push({ ...p.targets[0] });
    return `${panelLabel(p)}: target ${p.targets.length - 1} (refId ${JSON.stringify(p.targets[0].refId)}): refId ${p.targets[0].refId} is used twice`;
  }],

  ["no namespace variable", "templating", ({ dashboard: d }) => {
    if (!d.templating?.list) return undefined;
    d.templating.list = d.templating.list.filter((v) => v.name !== "namespace");
    return 'no variable "namespace"';
  }],
  ["no datasource variable", "templating", ({ dashboard: d }) => {
    if (!d.templating?.list) return undefined;
    d.templating.list = d.templating.list.filter((v) => v.name !== "datasource");
    return 'no variable "datasource"';
  }],
  ["datasource variable for Loki", "templating", ({ dashboard: d }) => {
    const v = variable(d, "datasource");
    if (!v) return undefined;
    v.query = "loki";
    return 'variable "datasource": type "datasource" query "loki"';
  }],
  ["pod not narrowed by namespace", "templating", ({ dashboard: d }) => {
    const v = variable(d, "pod");
    if (!v) return undefined;
    v.query = "label_values(hoverslam_build_info, pod)";
    return 'variable "pod": query "label_values(hoverslam_build_info, pod)" does not depend on $namespace';
  }],
  ["namespace multi-select", "templating", ({ dashboard: d }) => {
    const v = variable(d, "namespace");
    if (!v) return undefined;
    v.multi = true;
    return 'variable "namespace": not single-select (includeAll and multi must be false: one run per namespace)';
  }],
  ["pod All matching any pod", "templating", ({ dashboard: d }) => {
    const v = variable(d, "pod");
    if (!v) return undefined;
    v.allValue = ".*";
    return 'variable "pod": allValue ".*" matches more than the listed pods';
  }],
  ["single-select pod", "templating", ({ dashboard: d }) => {
    const v = variable(d, "pod");
    if (!v) return undefined;
    v.multi = false;
    return 'variable "pod": multi is not true';
  }],
  ["namespace variable on a fixed datasource", "templating", ({ dashboard: d }) => {
    const v = variable(d, "namespace");
    if (!v) return undefined;
    v.datasource = { type: "prometheus", uid: "prom" };
    return 'variable "namespace": datasource';
  }],
  ["values never reloaded", "templating", ({ dashboard: d }) => {
    const v = variable(d, "pod");
    if (!v) return undefined;
    v.refresh = 0;
    return 'variable "pod": refresh 0';
  }],

  ["matcher on job", "queries", query(`rate(${M}{${NS}, job="x"}[$__rate_interval])`), 'matches job="x": job is a label of the scrape configuration'],
  ["matcher on a Kubernetes label", "queries", query(`rate(${M}{${NS}, app_kubernetes_io_name="hoverslam"}[$__rate_interval])`), "app_kubernetes_io_name is a label of the scrape configuration"],
  ["hard-coded window", "queries", query(`rate(${M}{${NS}}[5m])`), "hard-codes the range [5m]: use [$__rate_interval]"],
  ["hard-coded window in *_over_time", "queries", query(`max_over_time(hoverslam_learner_policy_lag{${NS}}[1h])`), "hard-codes the range [1h]"],
  ["subquery with a fixed range", "queries", query(`max_over_time(rate(${M}{${NS}}[$__rate_interval])[1h:])`), "hard-codes the range [1h]"],
  ["no namespace matcher", "queries", query(`rate(${M}{pod=~"$pod"}[$__rate_interval])`), `"${M}{pod=~\\"$pod\\"}" lacks the matcher namespace=~"$namespace"`],
  ["namespace fixed, not the variable", "queries", query(`rate(${M}{namespace="hoverslam"}[$__rate_interval])`), 'lacks the matcher namespace=~"$namespace"'],
  ["no namespace matcher on one side of a binary expression", "queries", query(`rate(${M}{${NS}}[$__rate_interval]) / hoverslam_actor_num_envs`), '"hoverslam_actor_num_envs" lacks the matcher'],
  ["pod matcher not on $pod", "queries", query(`rate(${M}{${NS}, pod="learner-0"}[$__rate_interval])`), 'has pod="learner-0": the pod matcher is pod=~"$pod"'],
  ["metric by __name__", "queries", query(`rate({__name__="${M}", ${NS}}[$__rate_interval])`), "selects its metric by __name__"],
  ["metric in the quoted syntax", "queries", query(`rate({"${M}", ${NS}}[$__rate_interval])`), "does not name its metric"],
  ["unparseable expr", "queries", query(`sum(rate(${M}{${NS}}[$__rate_interval])`), "does not parse as PromQL"],
  ["$__interval", "queries", query(`rate(${M}{${NS}}[$__interval])`), "uses the variable $__interval"],
  ["$__range", "queries", query(`increase(${M}{${NS}}[$__range])`), "uses the variable $__range"],
  ["a variable of another dashboard", "queries", query(`rate(${M}{${NS}, reason=~"\${reason}"}[$__rate_interval])`), "uses the variable ${reason}"],
  ["grouped by instance", "queries", query(`sum by (instance) (rate(${M}{${NS}}[$__rate_interval]))`), "groups by instance"],

  ["ConfigMap drift", "configmap", (s) => {
    s.configMap = configMapOf({ ...s.dashboard, title: `${s.dashboard.title} (old)` });
    return "data hoverslam.json differs from the dashboard at title: regenerate with dashboards/generate.py";
  }],
  ["ConfigMap without the sidecar label", "configmap", (s) => {
    s.configMap = s.configMap.replace('grafana_dashboard: "1"', 'grafana_dashboard: "0"');
    return 'label grafana_dashboard is "0"';
  }],
  ["ConfigMap with a second key", "configmap", (s) => {
    const cm = YAML.parse(s.configMap);
    cm.data["other.json"] = "{}";
    s.configMap = YAML.stringify(cm);
    return 'data keys are ["hoverslam.json","other.json"]';
  }],
  ["ConfigMap copy not JSON", "configmap", (s) => {
    const cm = YAML.parse(s.configMap);
    cm.data["hoverslam.json"] = cm.data["hoverslam.json"].slice(1);
    s.configMap = YAML.stringify(cm);
    return "data hoverslam.json is not JSON";
  }],

  ["no uid", "dashboard", ({ dashboard: d }) => { delete d.uid; return "uid undefined is not a fixed identifier"; }],
  ["uid too long", "dashboard", ({ dashboard: d }) => { d.uid = "h".repeat(41); return "is not a fixed identifier of 1-40"; }],
  ["old schemaVersion", "dashboard", ({ dashboard: d }) => { d.schemaVersion = 27; return "schemaVersion 27 is not a number >= 39"; }],
  ["no hoverslam tag", "dashboard", ({ dashboard: d }) => { d.tags = ["ppo"]; return 'tags do not include "hoverslam"'; }],
  ["database id", "dashboard", ({ dashboard: d }) => { d.id = 12; return "id is 12"; }],
  ["import prompt", "dashboard", ({ dashboard: d }) => { d.__inputs = [{ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }]; return "has __inputs"; }],
  ["no refresh", "dashboard", ({ dashboard: d }) => { delete d.refresh; return "refresh undefined is not an interval"; }],
  ["editable unset", "dashboard", ({ dashboard: d }) => { delete d.editable; return "editable is not set"; }],
  ["no time range", "dashboard", ({ dashboard: d }) => { delete d.time; return "no default time range"; }],
];

export function selfTest({ groups, checkSchemas, dashboardFile }) {
  let passed = 0;
  let failed = 0;
  const line = (ok, text, details = []) => {
    ok ? passed++ : failed++;
    console.log(`${ok ? "ok   " : "FAIL "} self-test: ${text}`);
    for (const d of details) console.log(`        ${d}`);
  };
  const bases = [{ name: "fixtures/valid.json", dashboard: JSON.parse(readFileSync(join(here, "fixtures", "valid.json"), "utf8")), fixture: true }];
  if (dashboardFile && existsSync(dashboardFile)) {
    try {
      bases.push({ name: dashboardFile, dashboard: JSON.parse(readFileSync(dashboardFile, "utf8")) });
    } catch (e) {
      line(false, `${dashboardFile} is not JSON: ${e.message}`);
    }
  } else {
    console.log(`note  self-test: ${dashboardFile ? `${dashboardFile} does not exist yet` : "no --dashboard"}: the fixture only`);
  }

  // Every broken copy first, so that one TypeScript compile checks all the schema cases.
  const runs = [];
  for (const base of bases) {
    runs.push({ base, state: { dashboard: clone(base.dashboard), configMap: configMapOf(base.dashboard) } });
    for (const [what, group, mutate, suffix] of CASES) {
      const state = { dashboard: clone(base.dashboard), configMap: configMapOf(base.dashboard) };
      const expect = mutate(state);
      const fragments = expect === undefined ? undefined : [expect, suffix].filter((x) => x !== undefined);
      runs.push({ base, what, group, expect: fragments, state });
    }
  }
  const schemaRuns = runs.filter((r) => !r.what || (r.group === "schema" && r.expect !== undefined));
  const schemaFailures = checkSchemas(schemaRuns.map((r) => r.state.dashboard));
  schemaRuns.forEach((r, i) => { r.schema = schemaFailures[i]; });
  const all = { ...groups, schema: (s) => s.schema };
  const failuresOf = (run, group) => {
    try {
      return group === "schema" ? run.schema : all[group](run.state);
    } catch (e) {
      return [`the check itself threw: ${e.stack ?? e}`];
    }
  };

  for (const base of bases) {
    const unbroken = runs.find((r) => r.base === base && !r.what);
    const before = {};
    for (const group of Object.keys(all)) {
      before[group] = failuresOf(unbroken, group);
      // The real dashboard's own failures are the dashboard test's business; here only the fixture must pass.
      if (base.fixture) line(before[group].length === 0, `the unbroken fixture passes ${group}`, before[group]);
    }
    for (const run of runs.filter((r) => r.base === base && r.what)) {
      if (run.expect === undefined) {
        if (base.fixture) line(false, `${run.what}: the case does not apply to the fixture`);
        else console.log(`skip  self-test: ${base.name}: ${run.what} (nothing to break that way)`);
        continue;
      }
      const f = failuresOf(run, run.group);
      const caught = f.some((m) => run.expect.every((x) => m.includes(x)) && !before[run.group].includes(m));
      const where = base.fixture ? "" : `${base.name}: `;
      line(caught, `${where}${run.group} catches: ${run.what}`, caught ? [] : [`expected a new failure containing ${run.expect.map((x) => JSON.stringify(x)).join(" and ")}, got: ${JSON.stringify(f)}`]);
    }
  }
  return { passed, failed };
}
