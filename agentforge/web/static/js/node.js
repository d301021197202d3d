// The node panel: proposal and diagnosis, scores with task counts, cost, diff, task table.
"use strict";
window.AF = window.AF || {};

AF.nodePanel = function (detail, row, ctx) {
  const el = AF.el;
  const box = el("div", { class: "node-panel", "data-node": detail.id });
  const proposal = detail.proposal && typeof detail.proposal === "object" ? detail.proposal : null;
  box.appendChild(el("h2", {}, `Node ${detail.id}`,
    el("span", { class: "pill st-" + detail.status, text: detail.status }),
    ctx.best === detail.id ? el("span", { class: "pill best", text: "best" }) : null));
  const parent = detail.parent_id === null ? "seed" : el("button", { class: "link", text: `parent ${detail.parent_id}`,
    onclick: () => ctx.select(detail.parent_id) });
  box.appendChild(el("p", { class: "meta" }, parent,
    ` · created ${AF.fmtTime(detail.created_at)}`,
    detail.operator ? ` · operator ${detail.operator}` : "",
    detail.commit ? ` · commit ${detail.commit.slice(0, 12)}` : "",
    el("button", { class: "link", text: "compare with…", onclick: () => ctx.compareFrom(detail.id) }),
    " · ", AF.pageLink(ctx.linkTo({ node: detail.id }), "link to this node")));
  if (detail.copy_of !== null && detail.copy_of !== undefined) {
    box.appendChild(el("p", { class: "meta copy" }, "A copy: the same agent as ",
      el("button", { class: "link", text: `node ${detail.copy_of}`, onclick: () => ctx.select(detail.copy_of) }),
      ", whose evaluations it shows (it was never evaluated itself)."));
  }
  if (detail.external_id) box.appendChild(el("p", { class: "meta", text: `imported: ${detail.external_id}` }));
  for (const disagreement of detail.grading_disagreements || []) {
    box.appendChild(el("p", { class: "bad" }, el("b", { text: "Graders disagree (never best): " }), String(disagreement)));
  }
  for (const warning of detail.warnings || []) {
    box.appendChild(el("p", { class: "warn" }, el("b", { text: "Warning: " }), String(warning)));
  }
  if (detail.reason) box.appendChild(el("p", { class: detail.status === "invalid" || detail.status === "failed" ? "bad" : "" },
    el("b", { text: "Reason: " }), detail.reason));

  const valid = (detail.evaluations || []).filter((e) => e.split !== "held_out" && e.finished);
  const held = (detail.evaluations || []).filter((e) => e.split === "held_out" && e.finished);
  const tally = (rows) => rows.filter((e) => e.resolved).length;
  box.appendChild(el("div", { class: "scores" },
    el("div", { class: "score" }, el("span", { class: "big", text: AF.fmtScore(row ? row.score : null) }),
      el("span", { class: "muted", text: ` validation · ${tally(valid)}/${valid.length} tasks` })),
    el("div", { class: "score" }, el("span", { class: "big", text: AF.fmtScore(row ? row.held_out_score : null) }),
      el("span", { class: "muted", text: ` held-out · ${tally(held)}/${held.length} tasks` })),
    el("div", { class: "score" }, el("span", { class: "big", text: AF.fmtUsd(detail.cost.improve_usd + detail.cost.evaluate_usd) }),
      el("span", { class: "muted", text: ` cost · improve ${AF.fmtUsd(detail.cost.improve_usd)} (${AF.fmtInt(detail.cost.improve_tokens)} tok)` +
        ` · evaluate ${AF.fmtUsd(detail.cost.evaluate_usd)} (${AF.fmtInt(detail.cost.evaluate_tokens)} tok)` }))));

  if (proposal) {
    const section = el("div", { class: "proposal" }, el("h3", { text: "Proposal" }));
    section.appendChild(el("p", { class: "summary", text: String(proposal.summary || "") }));
    for (const [key, label] of [["diagnosis", "Diagnosis"], ["change", "Change"], ["expected_effect", "Expected effect"]]) {
      if (proposal[key]) section.appendChild(el("div", {}, el("h4", { text: label }), AF.textBlock(proposal[key], "text prose")));
    }
    if (Array.isArray(proposal.files) && proposal.files.length) {
      section.appendChild(el("p", { class: "meta", text: "files: " + proposal.files.map(String).join(", ") }));
    }
    box.appendChild(section);
  } else if (detail.parent_id === null) {
    box.appendChild(el("p", { class: "muted", text: "The seed agent: no proposal." }));
  }

  const improve = (detail.files || []).find((f) => /\/improve\/.*trajectory\.json$/.test(f));
  if (improve) {
    const holder = el("div", { class: "improve-trajectory" });
    const button = el("button", { class: "link", text: "show how the parent implemented it (trajectory)" });
    button.addEventListener("click", async () => {
      button.remove();
      try { holder.appendChild(AF.trajectoryView(await ctx.file(improve), AF.improveCallsOf(detail))); } catch (err) {
        holder.appendChild(el("p", { class: "bad", text: String(err.message || err) }));
      }
    });
    box.appendChild(el("div", {}, button, holder));
  }
  box.appendChild(el("h3", { text: detail.parent_id === null ? "Code (from the empty tree)" : "Change (diff against the parent)" }));
  box.appendChild(AF.diffView(detail.diff, detail.parent_id === null ? 300 : 2000));

  box.appendChild(el("h3", { text: `Tasks (${(detail.evaluations || []).length})` }));
  box.appendChild(AF.taskTable(detail, ctx));
  const files = detail.files || [];
  if (files.length) {
    const list = el("ul", { class: "files" });
    for (const path of files) list.appendChild(el("li", {}, AF.fileLink(path, ctx)));
    box.appendChild(el("details", {}, el("summary", { text: `files of this node (${files.length})` }), list));
  }
  return box;
};

AF.taskTable = function (detail, ctx) {
  const el = AF.el;
  const table = el("table", { class: "tasks" },
    el("thead", {}, el("tr", {}, ...["task", "split", "result", "reason", "time", "cost", ""].map((h) => el("th", { text: h })))));
  const body = el("tbody");
  for (const e of detail.evaluations || []) {
    const result = !e.finished ? "running" : e.resolved ? "✓ resolved" : "✗ unresolved";
    const extra = el("tr", { class: "extra" }, el("td", { colspan: 7 }));
    extra.hidden = true;
    const show = (title, build) => async () => {
      const cell = extra.firstChild;
      if (!extra.hidden && cell.getAttribute("data-open") === title) { extra.hidden = true; return; }
      AF.clear(cell).appendChild(el("p", { class: "muted", text: "loading…" }));
      cell.setAttribute("data-open", title);
      extra.hidden = false;
      try { AF.clear(cell).appendChild(await build()); } catch (err) {
        AF.clear(cell).appendChild(el("p", { class: "bad", text: String(err.message || err) }));
      }
    };
    const trajectory = (e.files || []).find((f) => f.endsWith("trajectory.json"));
    const actions = el("td", { class: "actions" });
    if (e.test_output) actions.appendChild(el("button", { class: "link", text: "test output",
      onclick: show("output", async () => AF.textBlock(e.test_output, "text", 20000)) }));
    if (trajectory) actions.appendChild(el("button", { class: "link", text: "trajectory",
      onclick: show("trajectory", async () => AF.trajectoryView(await ctx.file(trajectory), AF.callsOf(detail, e))) }));
    for (const path of (e.files || []).filter((f) => f !== trajectory)) {
      actions.appendChild(AF.fileLink(path, ctx, path.split("/").pop()));
    }
    body.appendChild(el("tr", { class: !e.finished ? "running" : e.resolved ? "ok" : "ko" },
      el("td", { class: "task", text: e.task_id }), el("td", { text: e.split + (e.attempt ? ` #${e.attempt}` : "") }),
      el("td", { text: result }), el("td", { class: "reason", text: e.reason || "" }),
      el("td", { text: e.finished ? `${e.duration_s}s` : "" }), el("td", { text: AF.fmtUsd(e.cost_usd) }), actions));
    body.appendChild(extra);
  }
  table.appendChild(body);
  return table;
};

// A link to a run file: a new tab (served as plain text) live, shown inline in an export.
AF.fileLink = function (path, ctx, label) {
  const url = ctx.fileUrl(path);
  if (url) {
    const link = AF.el("a", { class: "file", text: label || path });
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }
  const button = AF.el("button", { class: "link", text: label || path });
  button.addEventListener("click", async () => {
    try {
      const text = await ctx.file(path);
      button.replaceWith(AF.el("div", {}, AF.el("p", { class: "meta", text: path }), AF.textBlock(text)));
    } catch (err) { button.textContent = (label || path) + " (" + err.message + ")"; }
  });
  return button;
};
