// The panels' queries, parsed with Prometheus' own PromQL grammar (@prometheus-io/lezer-promql, the
// parser of Prometheus' web UI). A dashboard that works on any Prometheus scraping hoverslam
// selects by the namespace and pod variables and by the labels the binaries export, never by
// labels its scrape configuration adds, and lets Grafana pick every range.
import { parser } from "@prometheus-io/lezer-promql";
import { panelLabel, panelsOf } from "./dashboard.mjs";

// The labels hoverslam's binaries put on their own series (common/labelled_metrics.h,
// common/build_info.cc, the histograms' and summaries' le and quantile), besides the namespace and
// pod every Prometheus on Kubernetes adds.
export const EXPORTED_LABELS = ["le", "quantile", "reason", "outcome", "phase", "channel", "binary", "version", "commit", "protocol"];
const ALLOWED_LABELS = new Set(["namespace", "pod", ...EXPORTED_LABELS]);
const ALLOWED_VARIABLES = new Set(["datasource", "namespace", "pod", "__rate_interval"]);

// $__rate_interval is not PromQL: it is parsed as this duration, which no query writes itself.
export const RATE_INTERVAL = "4h3m2s1ms";

// Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]], [[name:format]] ("$1" in
// label_replace is no variable).
const VARIABLE = /\$([A-Za-z_]\w*)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::\w+)?\]\]/g;

const unquote = (literal) => literal.slice(1, -1);

function children(node) {
  const out = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

// One line per problem in `expr`; none for a query that follows the conventions.
export function checkExpr(expr) {
  const problems = [];
  for (const m of expr.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2] ?? m[3];
    if (!ALLOWED_VARIABLES.has(name)) {
      problems.push(`uses the variable ${m[0]}: only $namespace, $pod and $__rate_interval belong in a query`);
    }
  }
  if (expr.includes(RATE_INTERVAL)) problems.push(`writes ${RATE_INTERVAL}, the duration this check reads $__rate_interval as`);
  const text = expr.replace(/\$__rate_interval\b|\$\{__rate_interval\}/g, RATE_INTERVAL);
  const at = (node) => JSON.stringify(text.slice(node.from, node.to).replaceAll(RATE_INTERVAL, "$__rate_interval"));

  const tree = parser.parse(text);
  const errors = [];
  tree.iterate({
    enter(n) {
      if (n.type.isError) errors.push(n.from);
    },
  });
  if (errors.length) {
    const p = errors[0];
    problems.push(`does not parse as PromQL at column ${p + 1}: ...${JSON.stringify(text.slice(Math.max(0, p - 20), p + 20))}`);
    return problems;
  }

  tree.iterate({
    enter(ref) {
      const node = ref.node;
      if (node.name === "VectorSelector") problems.push(...checkSelector(node, text, at));
      if (node.name === "MatrixSelector" || node.name === "SubqueryExpr") {
        for (const d of children(node).filter((c) => c.name === "DurationExpr")) {
          if (text.slice(d.from, d.to) !== RATE_INTERVAL) {
            problems.push(`${at(node)} hard-codes the range [${text.slice(d.from, d.to)}]: use [$__rate_interval]`);
          }
        }
      }
      if (node.name === "GroupingLabels") {
        for (const l of children(node).filter((c) => c.name === "LabelName" || c.name === "QuotedLabelName")) {
          const name = l.name === "LabelName" ? text.slice(l.from, l.to) : unquote(text.slice(l.from, l.to));
          if (!ALLOWED_LABELS.has(name)) problems.push(`groups by ${name}, a label of the scrape configuration, not of hoverslam`);
        }
      }
    },
  });
  return problems;
}

function checkSelector(node, text, at) {
  const problems = [];
  const parts = children(node);
  if (!parts.some((c) => c.name === "Identifier")) problems.push(`${at(node)} does not name its metric`);
  const matchers = parts.find((c) => c.name === "LabelMatchers");
  const namespace = [];
  for (const m of matchers ? children(matchers) : []) {
    // {"name"}: a metric named in the quoted (UTF-8) syntax.
    if (m.name === "QuotedLabelName") {
      problems.push(`${at(node)} names its metric as ${text.slice(m.from, m.to)}: write it before the braces`);
      continue;
    }
    if (m.name !== "UnquotedLabelMatcher" && m.name !== "QuotedLabelMatcher") continue;
    const [label, op, value] = children(m);
    const raw = text.slice(label.from, label.to);
    const name = label.name === "QuotedLabelName" ? unquote(raw) : raw;
    const matcher = { op: text.slice(op.from, op.to), value: unquote(text.slice(value.from, value.to)) };
    const written = text.slice(m.from, m.to);
    if (name === "__name__") problems.push(`${at(node)} selects its metric by __name__: name it`);
    else if (name === "namespace") namespace.push(matcher);
    else if (name === "pod") {
      if (matcher.op !== "=~" || matcher.value !== "$pod") problems.push(`${at(node)} has ${written}: the pod matcher is pod=~"$pod"`);
    } else if (!ALLOWED_LABELS.has(name)) {
      problems.push(`${at(node)} matches ${written}: ${name} is a label of the scrape configuration, not of hoverslam (allowed: ${[...ALLOWED_LABELS].join(", ")})`);
    }
  }
  if (namespace.length !== 1 || namespace[0].op !== "=~" || namespace[0].value !== "$namespace") {
    problems.push(`${at(node)} lacks the matcher namespace=~"$namespace"`);
  }
  return problems;
}

// The `queries` group: every target of every panel.
export function queries({ dashboard }) {
  const failures = [];
  for (const { panel } of panelsOf(dashboard)) {
    for (const t of Array.isArray(panel.targets) ? panel.targets : []) {
      if (typeof t?.expr !== "string" || t.expr.trim() === "") continue; // the panels group reports it
      for (const p of checkExpr(t.expr)) failures.push(`${panelLabel(panel)} query ${t.refId}: ${p}`);
    }
  }
  return failures;
}
