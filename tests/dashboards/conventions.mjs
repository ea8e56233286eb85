// The project's own rules for its Grafana dashboard, beyond what Grafana's types say: a layout
// with nothing hidden under anything else, panels that say what they show and in which unit,
// the datasource and namespace/pod chosen by variables (so one file serves every cluster), and a
// ConfigMap copy that is the file itself. Each group takes { dashboard, configMap } (the
// ConfigMap as YAML text) and returns one line per failure, naming the panel by id and title.
import YAML from "yaml";
import { DATASOURCE, allPanels, panelLabel, panelsOf } from "./dashboard.mjs";

const GRID_WIDTH = 24;
const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
const nonEmpty = (s) => typeof s === "string" && s.trim() !== "";

// The first path at which a and b differ ("" when they are equal).
export function firstDifference(a, b, path = "") {
  if (Array.isArray(a) !== Array.isArray(b) || isObject(a) !== isObject(b)) return path || "(top)";
  if (Array.isArray(a) || isObject(a)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    if (Array.isArray(a) && a.length !== b.length) return `${path || "(top)"} (length ${b.length}, not ${a.length})`;
    for (const k of keys) {
      const d = firstDifference(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return "";
  }
  return Object.is(a, b) ? "" : path || "(top)";
}

const sameDatasource = (ds) => isObject(ds) && firstDifference(DATASOURCE, ds) === "";

export function dashboardFields({ dashboard: d }) {
  const f = [];
  if (!isObject(d)) return ["the dashboard is not a JSON object"];
  if (!nonEmpty(d.uid) || d.uid.length > 40 || !/^[A-Za-z0-9_-]+$/.test(d.uid)) {
    f.push(`uid ${JSON.stringify(d.uid)} is not a fixed identifier of 1-40 letters, digits, - or _ (links and provisioning find the dashboard by it)`);
  }
  if (!nonEmpty(d.title)) f.push("no title");
  if (!Number.isInteger(d.schemaVersion) || d.schemaVersion < 39) f.push(`schemaVersion ${JSON.stringify(d.schemaVersion)} is not a number >= 39`);
  if (typeof d.editable !== "boolean") f.push("editable is not set to true or false");
  if (!isObject(d.time) || !nonEmpty(d.time.from) || !nonEmpty(d.time.to)) f.push("no default time range (time.from, time.to)");
  if (typeof d.refresh !== "string" || !/^[1-9][0-9]*[smhd]$/.test(d.refresh)) f.push(`refresh ${JSON.stringify(d.refresh)} is not an interval such as "30s"`);
  if (!Array.isArray(d.tags) || !d.tags.includes("hoverslam")) f.push('tags do not include "hoverslam"');
  if (d.id !== undefined && d.id !== null) f.push(`id is ${JSON.stringify(d.id)}: a provisioned dashboard has id null (Grafana assigns it)`);
  if (d.__inputs !== undefined) f.push("has __inputs: the datasource variable chooses the datasource, no import prompt");
  if (!Array.isArray(d.panels) || d.panels.length === 0) f.push("no panels");
  return f;
}

// Grid positions: integers on Grafana's 24-column grid, no two panels on the same cells, rows
// full-width and one unit high, each panel below the row it is listed under.
export function layout({ dashboard }) {
  const f = [];
  const all = allPanels(dashboard);
  const byId = new Map();
  for (const { panel } of all) {
    if (!Number.isInteger(panel.id) || panel.id <= 0) f.push(`${panelLabel(panel)}: id is not a positive integer`);
    else if (byId.has(panel.id)) f.push(`${panelLabel(panel)}: duplicate id ${panel.id} (also ${panelLabel(byId.get(panel.id))})`);
    else byId.set(panel.id, panel);
  }
  const placed = new Set();
  for (const { panel } of all) {
    const g = panel.gridPos;
    if (!isObject(g) || !["x", "y", "w", "h"].every((k) => Number.isInteger(g[k]))) {
      f.push(`${panelLabel(panel)}: gridPos ${JSON.stringify(g)} lacks integer x, y, w, h`);
      continue;
    }
    const bad = [];
    if (g.x < 0 || g.y < 0) bad.push("x and y must be >= 0");
    if (g.w <= 0 || g.h <= 0) bad.push("w and h must be > 0");
    if (g.x + g.w > GRID_WIDTH) bad.push(`x+w = ${g.x + g.w} is past the grid's ${GRID_WIDTH} columns`);
    if (panel.type === "row" && (g.x !== 0 || g.w !== GRID_WIDTH || g.h !== 1)) bad.push(`a row is x=0, w=${GRID_WIDTH}, h=1`);
    if (bad.length) f.push(`${panelLabel(panel)}: gridPos ${JSON.stringify(g)}: ${bad.join("; ")}`);
    else placed.add(panel);
  }
  // Panels shown together: the top level, and each collapsed row with the panels it holds
  // (placed as they will be when it is opened).
  const top = Array.isArray(dashboard?.panels) ? dashboard.panels.filter(isObject) : [];
  const groups = [top];
  for (const row of top.filter((p) => p.type === "row")) {
    const inner = Array.isArray(row.panels) ? row.panels.filter(isObject) : [];
    if (row.collapsed === true) groups.push([row, ...inner]);
    else if (inner.length) f.push(`${panelLabel(row)}: an open row holds no panels (they follow it in the top-level list)`);
    if (row.collapsed === true && placed.has(row)) {
      for (const p of inner.filter((q) => placed.has(q) && q.gridPos.y <= row.gridPos.y)) {
        f.push(`${panelLabel(p)}: y=${p.gridPos.y} is not below its ${panelLabel(row)} (y=${row.gridPos.y})`);
      }
    }
  }
  for (const group of groups) {
    const g = group.filter((p) => placed.has(p));
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) {
        const a = g[i].gridPos;
        const b = g[j].gridPos;
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
          f.push(`${panelLabel(g[i])} and ${panelLabel(g[j])} overlap (${JSON.stringify(a)}, ${JSON.stringify(b)})`);
        }
      }
    }
  }
  // Rows in order of y, and each top-level panel between the row it follows and the next.
  const rows = top.filter((p) => p.type === "row" && placed.has(p));
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].gridPos.y <= rows[i - 1].gridPos.y) {
      f.push(`${panelLabel(rows[i])}: y=${rows[i].gridPos.y} is not below the ${panelLabel(rows[i - 1])} listed before it (y=${rows[i - 1].gridPos.y})`);
    }
  }
  let current = null;
  for (const p of top) {
    if (p.type === "row") {
      current = p;
      continue;
    }
    if (!placed.has(p)) continue;
    const next = rows[rows.indexOf(current) + 1];
    if (current && placed.has(current) && p.gridPos.y <= current.gridPos.y) {
      f.push(`${panelLabel(p)}: y=${p.gridPos.y} is above the ${panelLabel(current)} it is listed under (y=${current.gridPos.y})`);
    } else if (next && p.gridPos.y >= next.gridPos.y) {
      f.push(`${panelLabel(p)}: y=${p.gridPos.y} is below the next row, ${panelLabel(next)} (y=${next.gridPos.y})`);
    }
  }
  return f;
}

// Every panel that shows data says what it shows, in which unit, from the chosen datasource.
export function panels({ dashboard }) {
  const f = [];
  for (const { panel } of allPanels(dashboard)) {
    if (!nonEmpty(panel.title)) f.push(`${panelLabel(panel)}: no title`);
  }
  for (const { panel } of panelsOf(dashboard)) {
    const label = panelLabel(panel);
    if (!nonEmpty(panel.description)) f.push(`${label}: no description (the panel's (i) tooltip says what it shows)`);
    if (!nonEmpty(panel.fieldConfig?.defaults?.unit)) f.push(`${label}: no fieldConfig.defaults.unit`);
    if (!sameDatasource(panel.datasource)) {
      f.push(`${label}: datasource ${JSON.stringify(panel.datasource)} is not ${JSON.stringify(DATASOURCE)}`);
    }
    const targets = Array.isArray(panel.targets) ? panel.targets : [];
    if (targets.length === 0) f.push(`${label}: no targets`);
    const refIds = new Set();
    targets.forEach((t, i) => {
      const name = `target ${i} (refId ${JSON.stringify(t?.refId)})`;
      if (!nonEmpty(t?.expr)) f.push(`${label}: ${name} has no expr`);
      if (!nonEmpty(t?.refId)) f.push(`${label}: ${name} has no refId`);
      else if (refIds.has(t.refId)) f.push(`${label}: ${name}: refId ${t.refId} is used twice`);
      else refIds.add(t.refId);
      if (t?.datasource !== undefined && !sameDatasource(t.datasource)) {
        f.push(`${label}: ${name} datasource ${JSON.stringify(t.datasource)} is not ${JSON.stringify(DATASOURCE)}`);
      }
    });
  }
  return f;
}

// The variables every query leans on: the Prometheus datasource, then namespace and pod, pod
// listed for the chosen namespace. One run per namespace and panels that add up over pods, so
// namespace is single-select (two runs would add up); pod is multi-select, and its All is the
// listed pods (no allValue: a ".*" would also match other workloads' process_* series).
export function templating({ dashboard }) {
  const f = [];
  const list = Array.isArray(dashboard?.templating?.list) ? dashboard.templating.list : [];
  const vars = new Map();
  for (const v of list) {
    if (vars.has(v?.name)) f.push(`variable ${JSON.stringify(v?.name)} is defined twice`);
    vars.set(v?.name, v);
  }
  const ds = vars.get("datasource");
  if (!ds) f.push('no variable "datasource"');
  else if (ds.type !== "datasource" || ds.query !== "prometheus") {
    f.push(`variable "datasource": type ${JSON.stringify(ds.type)} query ${JSON.stringify(ds.query)}, not a datasource variable for "prometheus"`);
  }
  for (const name of ["namespace", "pod"]) {
    const v = vars.get(name);
    if (!v) {
      f.push(`no variable ${JSON.stringify(name)}`);
      continue;
    }
    const label = `variable ${JSON.stringify(name)}`;
    if (v.type !== "query") f.push(`${label}: type ${JSON.stringify(v.type)} is not "query"`);
    if (!sameDatasource(v.datasource)) f.push(`${label}: datasource ${JSON.stringify(v.datasource)} is not ${JSON.stringify(DATASOURCE)}`);
    if (name === "namespace") {
      if (v.includeAll !== false || v.multi !== false) f.push(`${label}: not single-select (includeAll and multi must be false: one run per namespace)`);
    } else {
      if (v.includeAll !== true) f.push(`${label}: includeAll is not true`);
      if (v.allValue !== undefined && v.allValue !== null && v.allValue !== "") f.push(`${label}: allValue ${JSON.stringify(v.allValue)} matches more than the listed pods`);
      if (v.multi !== true) f.push(`${label}: multi is not true`);
    }
    if (v.refresh !== 1 && v.refresh !== 2) f.push(`${label}: refresh ${JSON.stringify(v.refresh)}: its values are never reloaded (1: on load, 2: on time range change)`);
    const query = typeof v.query === "string" ? v.query : v.query?.query;
    if (!nonEmpty(query)) f.push(`${label}: no query`);
    else if (name === "pod" && !/\$namespace\b|\$\{namespace(:[^}]*)?\}/.test(query)) {
      f.push(`${label}: query ${JSON.stringify(query)} does not depend on $namespace`);
    }
  }
  return f;
}

// deploy/k8s/components/monitoring/grafana-dashboard.yaml: the dashboard as Grafana's sidecar
// picks it up.
export function configMap({ dashboard, configMap: text }) {
  if (typeof text !== "string") return ["no ConfigMap given"];
  const docs = YAML.parseAllDocuments(text);
  if (docs.length !== 1 || docs[0].errors.length) {
    return [`the ConfigMap is not one YAML document: ${docs[0]?.errors[0]?.message ?? `${docs.length} documents`}`];
  }
  const cm = docs[0].toJS();
  const f = [];
  if (cm?.apiVersion !== "v1" || cm?.kind !== "ConfigMap") f.push(`is ${cm?.apiVersion} ${cm?.kind}, not v1 ConfigMap`);
  if (cm?.metadata?.labels?.grafana_dashboard !== "1") {
    f.push(`label grafana_dashboard is ${JSON.stringify(cm?.metadata?.labels?.grafana_dashboard)}, not "1" (the Grafana sidecar looks for it)`);
  }
  const keys = Object.keys(isObject(cm?.data) ? cm.data : {});
  if (keys.length !== 1 || keys[0] !== "hoverslam.json") f.push(`data keys are ${JSON.stringify(keys)}, not exactly ["hoverslam.json"]`);
  if (cm?.binaryData !== undefined) f.push("has binaryData");
  const copy = cm?.data?.["hoverslam.json"];
  if (typeof copy === "string") {
    let parsed;
    try {
      parsed = JSON.parse(copy);
    } catch (e) {
      f.push(`data hoverslam.json is not JSON (${e.message}): regenerate with dashboards/generate.py`);
    }
    if (parsed !== undefined) {
      const at = firstDifference(dashboard, parsed);
      if (at) f.push(`data hoverslam.json differs from the dashboard at ${at}: regenerate with dashboards/generate.py`);
    }
  }
  return f;
}

export const GROUPS = { dashboard: dashboardFields, layout, panels, templating, configmap: configMap };
