// Walking a dashboard's panels, and naming them in messages.

// Every panel with its JSON path: rows, the panels beside them, and the panels held in
// (collapsed) rows, in file order.
export function allPanels(dashboard) {
  const out = [];
  const top = Array.isArray(dashboard?.panels) ? dashboard.panels : [];
  top.forEach((panel, i) => {
    if (panel === null || typeof panel !== "object") return;
    out.push({ panel, path: ["panels", i] });
    if (panel.type === "row" && Array.isArray(panel.panels)) {
      panel.panels.forEach((inner, j) => {
        if (inner !== null && typeof inner === "object") out.push({ panel: inner, path: ["panels", i, "panels", j], row: panel });
      });
    }
  });
  return out;
}

// The panels that show data: everything but rows.
export const panelsOf = (dashboard) => allPanels(dashboard).filter(({ panel }) => panel.type !== "row");

// `panel 3 "Env steps"`, `row 1 "Learner"`.
export const panelLabel = (p) => `${p?.type === "row" ? "row" : "panel"} ${p?.id} ${JSON.stringify(p?.title ?? "")}`;

export const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
