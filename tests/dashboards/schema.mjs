// Type-checks dashboards against Grafana's own published types (@grafana/schema): the dashboard as
// a whole against `Dashboard`, each row against `RowPanel`, and each panel's `options` and
// `fieldConfig.defaults.custom` against the panel-config types of its plugin. The JSON is written
// into a TypeScript source as object literals with `satisfies`, so literal strings keep their
// literal types and a misspelt key is an excess-property error; every diagnostic is mapped back
// to the panel and the JSON path it points into. One compile covers any number of dashboards.
import ts from "typescript";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { panelLabel, panelsOf } from "./dashboard.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const cfg = (dir, name) => `@grafana/schema/dist/esm/raw/composable/${dir}/panelcfg/x/${name}PanelCfg_types.gen`;

// Panel plugin id -> its panel-config module and whether that declares a FieldConfig (the type
// of fieldConfig.defaults.custom; plugins without one take no custom field config). Any other
// plugin id is refused: it has no published types to check against.
export const PANEL_TYPES = {
  timeseries: { module: cfg("timeseries", "TimeSeries"), custom: true },
  stat: { module: cfg("stat", "Stat"), custom: false },
  gauge: { module: cfg("gauge", "Gauge"), custom: false },
  bargauge: { module: cfg("bargauge", "BarGauge"), custom: false },
  heatmap: { module: cfg("heatmap", "Heatmap"), custom: true },
  table: { module: cfg("table", "Table"), custom: true },
  text: { module: cfg("text", "Text"), custom: false },
  histogram: { module: cfg("histogram", "Histogram"), custom: true },
  barchart: { module: cfg("barchart", "BarChart"), custom: true },
  piechart: { module: cfg("piechart", "PieChart"), custom: true },
  "state-timeline": { module: cfg("statetimeline", "StateTimeline"), custom: true },
  "status-history": { module: cfg("statushistory", "StatusHistory"), custom: true },
};

// A dashboard file holds what the types declare, as JSON spells it: a string enum member is its
// string ("absolute", not ThresholdsMode.Absolute); numeric enums already accept their numbers.
const PRELUDE = `import type { Dashboard, RowPanel } from "@grafana/schema";
${Object.entries(PANEL_TYPES).map(([type, t], i) => `import type * as P${i} from ${JSON.stringify(t.module)}; // ${type}`).join("\n")}
type Json<T> =
  0 extends 1 & T ? T :
  T extends string ? \`\${T}\` :
  T extends number | boolean | null | undefined ? T :
  T extends ReadonlyArray<infer U> ? Array<Json<U>> :
  T extends object ? { [K in keyof T]: Json<T[K]> } :
  T;
type Row = Json<Omit<RowPanel, "panels">> & { panels: unknown[] };
`;
const moduleAlias = Object.fromEntries(Object.keys(PANEL_TYPES).map((type, i) => [type, `P${i}`]));

// Writes `value` as a TypeScript literal, recording where each property (from its key to the end
// of its value) and each array element lies, with its JSON path.
class Emitter {
  constructor() {
    this.text = "";
    this.spans = [];
  }
  emit(value, path) {
    const start = this.text.length;
    if (Array.isArray(value)) {
      this.text += "[";
      value.forEach((v, i) => {
        if (i) this.text += ", ";
        this.emit(v, [...path, i]);
      });
      this.text += "]";
    } else if (value !== null && typeof value === "object") {
      this.text += "{";
      Object.entries(value).forEach(([k, v], i) => {
        if (i) this.text += ", ";
        const keyStart = this.text.length;
        this.text += `${JSON.stringify(k)}: `;
        this.emit(v, [...path, k]);
        this.spans.push({ start: keyStart, end: this.text.length, path: [...path, k] });
      });
      this.text += "}";
    } else {
      this.text += JSON.stringify(value);
    }
    this.spans.push({ start, end: this.text.length, path });
  }
  statement(value, path, type) {
    const start = this.text.length;
    this.text += "(";
    this.emit(value, path);
    this.text += `) satisfies ${type}`;
    this.spans.push({ start, end: this.text.length, path });
    this.text += ";\n";
  }
}

// The innermost recorded span holding `pos`.
function pathAt(spans, pos) {
  let best = null;
  for (const s of spans) {
    if (s.start <= pos && pos < s.end && (!best || s.end - s.start < best.end - best.start)) best = s;
  }
  return best ? best.path : [];
}

// The most specific line of a diagnostic (the end of its chain), without the expanded object
// types TypeScript prints, which run to kilobytes for a panel.
function message(d) {
  let chain = d.messageText;
  while (typeof chain !== "string" && chain.next?.length) chain = chain.next[0];
  let text = typeof chain === "string" ? chain : chain.messageText;
  const excess = /^Object literal may only specify known properties, (?:and|but) '"?([^"']+)"?' does not exist in type.*?(?:Did you mean to write '"?([^"']+)"?'\?)?$/s.exec(text);
  if (excess) return `unknown property "${excess[1]}"${excess[2] ? ` (did you mean "${excess[2]}"?)` : ""}`;
  text = text.replace(/'\{ .* \}'/g, "'{...}'");
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

// "panel 3 "Title": options.legend.showLegend" for a path into the dashboard.
function describe(dashboard, path) {
  let node = dashboard;
  let panel = null;
  let rest = path;
  for (let i = 0; i < path.length; i++) {
    node = node?.[path[i]];
    if (path[i - 1] === "panels" && typeof path[i] === "number") {
      panel = node;
      rest = path.slice(i + 1);
    }
  }
  let owner = panel ? panelLabel(panel) : "dashboard";
  if (!panel && path[0] === "templating" && path[1] === "list" && typeof path[2] === "number") {
    owner = `variable ${JSON.stringify(dashboard.templating.list[path[2]]?.name ?? "")}`;
    rest = path.slice(3);
  }
  const where = rest.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${p}`)).join("");
  return `${owner}${where ? `: ${where}` : ""}`;
}

function source(dashboard) {
  const e = new Emitter();
  e.text = PRELUDE;
  e.statement(dashboard, [], "Json<Dashboard>");
  const top = Array.isArray(dashboard?.panels) ? dashboard.panels : [];
  top.forEach((p, i) => {
    // Its nested panels are checked as part of the dashboard; here only the row's own fields.
    if (p?.type === "row") e.statement(Array.isArray(p.panels) ? { ...p, panels: [] } : p, ["panels", i], "Row");
  });
  for (const { panel, path } of panelsOf(dashboard)) {
    const alias = moduleAlias[panel.type];
    if (!alias) continue;
    if (panel.options !== undefined) e.statement(panel.options, [...path, "options"], `Json<${alias}.Options>`);
    const custom = panel.fieldConfig?.defaults?.custom;
    if (custom !== undefined && PANEL_TYPES[panel.type].custom) {
      e.statement(custom, [...path, "fieldConfig", "defaults", "custom"], `Json<${alias}.FieldConfig>`);
    }
  }
  return e;
}

const OPTIONS = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2022.d.ts"],
  types: [],
};

// failures[i] for dashboards[i]: one line per diagnostic, plus one per panel of unknown type.
export function checkSchemas(dashboards) {
  const files = new Map();
  const emitters = dashboards.map((d, i) => {
    const e = source(d);
    files.set(join(here, `.dashboard-schema-${i}.ts`), e.text);
    return e;
  });
  const host = ts.createCompilerHost(OPTIONS);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    files.has(name) ? ts.createSourceFile(name, files.get(name), lang) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
  const program = ts.createProgram([...files.keys()], OPTIONS, host);
  return [...files.keys()].map((name, i) => {
    const failures = [];
    for (const { panel } of panelsOf(dashboards[i])) {
      if (!Object.hasOwn(PANEL_TYPES, panel.type)) {
        failures.push(`${panelLabel(panel)}: type ${JSON.stringify(panel.type)} has no checked schema (one of ${Object.keys(PANEL_TYPES).join(", ")})`);
      } else if (!PANEL_TYPES[panel.type].custom) {
        const custom = panel.fieldConfig?.defaults?.custom;
        if (custom !== undefined && !(typeof custom === "object" && custom !== null && Object.keys(custom).length === 0)) {
          failures.push(`${panelLabel(panel)}: fieldConfig.defaults.custom: ${panel.type} panels take no custom field config`);
        }
      }
    }
    const sf = program.getSourceFile(name);
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    for (const d of diagnostics) {
      if (d.start === undefined || d.start < PRELUDE.length) {
        failures.push(`the schema types did not load: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
        continue;
      }
      failures.push(`${describe(dashboards[i], pathAt(emitters[i].spans, d.start))}: ${message(d)}`);
    }
    // A row's own fields are checked twice (in the dashboard and as a RowPanel): say it once.
    return [...new Set(failures)];
  });
}
