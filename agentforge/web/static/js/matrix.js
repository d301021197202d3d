// Any number of nodes compared task by task: one column per node, one row per task.
"use strict";
window.AF = window.AF || {};

// matrix: {fields, rows} of finished evaluations; rowsById: the node summaries; ctx.select opens a node.
AF.matrixPanel = function (ids, rowsById, matrix, ctx) {
  const el = AF.el;
  const box = el("div", { class: "matrix", "data-ids": ids.join(",") });
  box.appendChild(el("h2", { text: `${ids.length} nodes, task by task` }));
  box.appendChild(el("p", { class: "meta" }, AF.pageLink(ctx.linkTo({ compare: ids }), "link to this comparison")));
  const at = Object.fromEntries(matrix.fields.map((f, i) => [f, i]));
  const tasks = new Map();
  for (const row of matrix.rows) {
    const key = `${row[at.split]}\u0000${row[at.task_id]}`;
    if (!tasks.has(key)) tasks.set(key, { split: row[at.split], task: row[at.task_id], results: new Map() });
    const results = tasks.get(key).results;
    results.set(row[at.node_id], results.get(row[at.node_id]) === true || Boolean(row[at.resolved]));  // any attempt
  }
  const entries = [...tasks.values()].sort((x, y) => (x.split + "\u0000" + x.task).localeCompare(y.split + "\u0000" + y.task));
  const differs = (entry) => new Set(ids.map((id) => entry.results.get(id))).size > 1;
  const only = el("input", { type: "checkbox", class: "only-differ" });
  const table = el("table", { class: "tasks matrix-table" });
  const head = el("tr", {}, el("th", { scope: "col", text: "task" }), el("th", { scope: "col", text: "split" }));
  for (const id of ids) {
    const r = rowsById.get(id);
    head.appendChild(el("th", { scope: "col", class: "node-col" },
      el("button", { class: "link", text: `node ${id}`, onclick: () => ctx.select(id) }),
      el("div", { class: "muted", text: r ? `${AF.fmtScore(r.score)} · ${r.status}` : "not in this run" })));
  }
  head.appendChild(el("th", { scope: "col", text: "solved by" }));
  const body = el("tbody");
  const mark = (value) => (value === undefined ? "–" : value ? "✓" : "✗");
  const draw = () => {
    AF.clear(body);
    for (const entry of entries) {
      if (only.checked && !differs(entry)) continue;
      const solved = ids.filter((id) => entry.results.get(id) === true).length;
      const tried = ids.filter((id) => entry.results.has(id)).length;
      const tr = el("tr", { class: differs(entry) ? "differs" : "" },
        el("td", { class: "task", text: entry.task }), el("td", { text: entry.split }));
      for (const id of ids) {
        const value = entry.results.get(id);
        tr.appendChild(el("td", { class: "cell " + (value === undefined ? "none" : value ? "yes" : "no"),
          text: mark(value), title: `node ${id} · ${entry.task}: ${value === undefined ? "not run" : value ? "resolved" : "unresolved"}` }));
      }
      tr.appendChild(el("td", { text: `${solved}/${tried}` }));
      body.appendChild(tr);
    }
  };
  only.addEventListener("change", draw);
  const totals = el("tr", { class: "totals" }, el("td", { colspan: 2, text: "resolved" }),
    ...ids.map((id) => {
      const mine = entries.filter((e) => e.results.has(id));
      return el("td", { text: `${mine.filter((e) => e.results.get(id)).length}/${mine.length}` });
    }), el("td"));
  AF.append(table, [el("thead", {}, head), body, el("tfoot", {}, totals)]);
  draw();
  box.appendChild(el("p", { class: "meta" }, `${entries.length} tasks · ${entries.filter(differs).length} where the nodes differ · `,
    el("label", {}, only, " only those")));
  box.appendChild(el("div", { class: "matrix-scroll" }, table));
  return box;
};
