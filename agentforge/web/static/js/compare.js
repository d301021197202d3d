// Compare two nodes: the diff from A's code to B's, and their tasks side by side.
"use strict";
window.AF = window.AF || {};

AF.comparePanel = function (a, b, detailA, detailB, diff, ctx) {
  const el = AF.el;
  const box = el("div", { class: "compare", "data-a": a, "data-b": b });
  box.appendChild(el("h2", { text: `Node ${a} → node ${b}` }));
  box.appendChild(el("p", { class: "meta" }, AF.pageLink(ctx.linkTo({ compare: [a, b] }), "link to this comparison")));
  const byTask = new Map();
  for (const [side, detail] of [["a", detailA], ["b", detailB]]) {
    for (const e of detail.evaluations || []) {
      if (!e.finished) continue;
      const key = `${e.split}\u0000${e.task_id}`;
      if (!byTask.has(key)) byTask.set(key, { split: e.split, task: e.task_id, a: null, b: null });
      const entry = byTask.get(key);
      entry[side] = entry[side] === true ? true : Boolean(e.resolved);  // any attempt resolved
    }
  }
  const mark = (v) => (v === null ? "–" : v ? "✓" : "✗");
  const table = el("table", { class: "tasks compare-tasks" },
    el("thead", {}, el("tr", {}, ...["task", "split", `node ${a}`, `node ${b}`, ""].map((h) => el("th", { text: h })))));
  const body = el("tbody");
  const entries = [...byTask.values()].sort((x, y) => (x.split + x.task).localeCompare(y.split + y.task));
  let gained = 0, lost = 0;
  for (const entry of entries) {
    let change = "";
    if (entry.a === false && entry.b === true) { change = "gained"; gained += 1; }
    if (entry.a === true && entry.b === false) { change = "lost"; lost += 1; }
    body.appendChild(el("tr", { class: change },
      el("td", { class: "task", text: entry.task }), el("td", { text: entry.split }),
      el("td", { text: mark(entry.a) }), el("td", { text: mark(entry.b) }), el("td", { text: change })));
  }
  table.appendChild(body);
  box.appendChild(el("p", { class: "meta", text: `${entries.length} tasks · ${gained} gained · ${lost} lost` }));
  box.appendChild(table);
  box.appendChild(el("h3", { text: `Diff from node ${a} to node ${b}` }));
  if (diff instanceof Error) box.appendChild(el("p", { class: "muted diff-missing", text: diff.message }));
  else {
    if (diff.reversed) box.appendChild(el("p", { class: "meta", text: `node ${a}'s own change, read backwards` }));
    box.appendChild(AF.diffView(diff.diff));
  }
  return box;
};

AF.compareForm = function (onCompare, a, b) {
  const el = AF.el;
  const first = el("input", { type: "search", size: 6, placeholder: "node A", value: a === null ? "" : a });
  const second = el("input", { type: "search", size: 6, placeholder: "node B", value: b === null ? "" : b });
  const go = el("button", { text: "compare", onclick: () => onCompare(Number(first.value), Number(second.value)) });
  first.className = "compare-a";
  second.className = "compare-b";
  return el("div", { class: "compare-form" }, "Compare ", first, " with ", second, " ", go,
    el("p", { class: "muted", text: "Or: “compare with…” in a node's panel, then click the other node; " +
      "or tick rows in the Table tab to compare any number of nodes." }));
};
