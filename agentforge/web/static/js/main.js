// Wiring: the chosen run, the tree, the panels, filters, keyboard, and the live change feed.
"use strict";
window.AF = window.AF || {};

(function () {
  const $ = (id) => document.getElementById(id);
  const source = AF.source;
  const state = { run: null, rows: [], summary: null, selected: null, compareA: null, compareB: null,
                  pickingCompare: false, minScore: 0, statuses: new Set(AF.STATUSES), version: null };
  const tree = new AF.Tree($("tree"), { onSelect: (id, event) => onNodeClick(id, event) });
  const ctx = {
    select: (id) => selectNode(id, true),
    compareFrom: (id) => { state.compareA = id; state.pickingCompare = true; setLive("click the node to compare with"); },
    file: (path) => source.file(state.run, path),
    fileUrl: (path) => source.fileUrl(state.run, path),
  };
  let detailToken = 0;

  function rowsOf(payload) {
    return payload.rows.map((row) => Object.fromEntries(payload.fields.map((f, i) => [f, row[i]])));
  }

  function setLive(text) { $("live").textContent = text; }

  function showTab(name) {
    for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.tab === name);
    for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.id === "tab-" + name);
    if (name === "progress") renderProgress();
    if (name === "events") renderEvents();
    if (name === "compare" && state.compareA === null) renderCompare();
  }

  function visible(row) {
    if (!state.statuses.has(row.status)) return false;
    if (state.minScore > 0 && (row.score === null || row.score < state.minScore)) return false;
    return true;
  }

  function renderHeader() {
    const s = state.summary;
    $("run-status").textContent = s.status + (s.stop_reason ? ` (${s.stop_reason})` : "") +
      (s.status === "running" && !s.alive && source.live ? " · process gone" : "");
    $("run-status").className = "pill run-" + s.status;
    const valid = state.rows.filter((r) => r.status === "evaluated" || r.status === "evaluating").length;
    $("run-spend").textContent = `${state.rows.length} nodes (${valid} valid) · best ${s.best_id === null ? "–" : "node " + s.best_id}` +
      ` · ${AF.fmtUsd(s.spend.usd)} · ${AF.fmtInt(s.spend.tokens)} tokens`;
    const f = s.in_flight;
    const busy = (f.improving || []).length + (f.evaluating || []).length;
    $("run-flight").textContent = busy ? `in flight: improving ${(f.improving || []).join(", ") || "–"}; evaluating ` +
      (f.evaluating || []).map((e) => `${e.node_id}:${e.task_id}`).join(", ") : "";
  }

  function renderFilters() {
    const box = AF.clear($("status-filters"));
    for (const status of AF.STATUSES) {
      const box1 = AF.el("input", { type: "checkbox", "data-status": status });
      box1.checked = state.statuses.has(status);
      box1.addEventListener("change", () => {
        if (box1.checked) state.statuses.add(status); else state.statuses.delete(status);
        tree.setFilter(visible);
      });
      box.appendChild(AF.el("label", { class: "st-label st-" + status }, box1, status));
    }
  }

  async function loadRun(name) {
    state.run = name;
    state.selected = null;
    tree.fitted = false;
    tree.folded.clear();
    if (source.resetVersion) source.resetVersion();
    await refresh();
    const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("node"));
    if (wanted && tree.byId.has(wanted)) selectNode(wanted, true);
    else if (state.summary.best_id !== null) selectNode(state.summary.best_id, false);
  }

  async function refresh() {
    const [summary, nodes] = await Promise.all([source.summary(state.run), source.nodes(state.run)]);
    const previous = state.selected === null ? null : JSON.stringify(tree.byId.get(state.selected));
    state.summary = summary;
    state.version = summary.version;  // what the change feed compares with
    state.rows = rowsOf(nodes);
    tree.visible = visible;
    tree.update(state.rows, summary);
    renderHeader();
    if (document.querySelector(".tab.active").id === "tab-progress") renderProgress();
    if (document.querySelector(".tab.active").id === "tab-events") renderEvents();
    if (state.selected !== null) {
      tree.select(state.selected, false);
      if (JSON.stringify(tree.byId.get(state.selected)) !== previous) showNode(state.selected);
    }
    $("tree").setAttribute("data-nodes", String(state.rows.length));
  }

  function onNodeClick(id, event) {
    if (state.pickingCompare || (event && event.shiftKey && state.selected !== null)) {
      const a = state.pickingCompare ? state.compareA : state.selected;
      state.pickingCompare = false;
      setLive("");
      compare(a, id);
      return;
    }
    selectNode(id, false);
  }

  function selectNode(id, center) {
    if (!tree.byId.has(id)) { setLive(`no node ${id} in this run`); return; }
    state.selected = id;
    tree.select(id, center);
    history.replaceState(null, "", "#" + new URLSearchParams({ run: state.run, node: id }));
    showNode(id);
  }

  async function showNode(id) {
    const token = ++detailToken;
    const tab = $("tab-node");
    if (!tab.firstChild || tab.firstChild.getAttribute("data-node") !== String(id)) {
      AF.clear(tab).appendChild(AF.el("p", { class: "muted", text: `loading node ${id}…` }));
    }
    showTab("node");
    try {
      const detail = await source.node(state.run, id);
      if (token !== detailToken) return;
      ctx.best = state.summary.best_id;
      AF.clear(tab).appendChild(AF.nodePanel(detail, tree.byId.get(id), ctx));
    } catch (err) {
      if (token === detailToken) AF.clear(tab).appendChild(AF.el("p", { class: "bad", text: String(err.message || err) }));
    }
  }

  async function compare(a, b) {
    state.compareA = a;
    state.compareB = b;
    showTab("compare");
    const tab = AF.clear($("tab-compare"));
    tab.appendChild(AF.compareForm(compare, a, b));
    if (!tree.byId.has(a) || !tree.byId.has(b)) {
      tab.appendChild(AF.el("p", { class: "bad", text: "pick two nodes of this run" }));
      return;
    }
    tab.appendChild(AF.el("p", { class: "muted", text: "loading…" }));
    try {
      const [da, db] = await Promise.all([source.node(state.run, a), source.node(state.run, b)]);
      let diff;
      try { diff = await source.diff(state.run, a, b); } catch (err) { diff = err; }
      tab.lastChild.remove();
      tab.appendChild(AF.comparePanel(a, b, da, db, diff));
    } catch (err) {
      tab.lastChild.replaceWith(AF.el("p", { class: "bad", text: String(err.message || err) }));
    }
  }

  function renderCompare() {
    AF.clear($("tab-compare")).appendChild(AF.compareForm(compare, state.selected, null));
  }

  function renderProgress() {
    if (!state.summary) return;
    AF.clear($("tab-progress")).appendChild(AF.progressPanel(state.rows, state.summary, (id) => selectNode(id, true)));
  }

  function renderEvents() {
    const box = AF.clear($("tab-events"));
    const list = AF.el("ol", { class: "events" });
    for (const e of [...(state.summary.events || [])].reverse()) {
      list.appendChild(AF.el("li", {}, AF.el("span", { class: "meta", text: AF.fmtTime(e.created_at) + " " + e.kind + " " }),
        e.node_id !== null ? AF.el("button", { class: "link", text: "node " + e.node_id, onclick: () => selectNode(e.node_id, true) }) : null,
        " " + e.message));
    }
    box.appendChild(list);
  }

  // The change feed: a conditional GET every 0.7 s (a 304 costs almost nothing).
  async function poll() {
    if (source.live && state.run) {
      try {
        const version = await source.version(state.run);
        if (version !== null && version !== state.version) {
          state.version = version;
          await refresh();
        }
        setLive(state.pickingCompare ? "click the node to compare with" : "live");
      } catch (err) { setLive("reconnecting…"); }
    }
    setTimeout(poll, document.hidden ? 4000 : 700);
  }

  function keyboard(event) {
    if (event.target.matches("input, select, textarea")) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "/") { event.preventDefault(); $("find").focus(); return; }
    if (state.selected === null) return;
    const moves = { ArrowUp: "parent", ArrowDown: "child", ArrowLeft: "previous", ArrowRight: "next",
                    k: "parent", j: "child", h: "previous", l: "next" };
    if (event.key in moves) {
      const next = tree.neighbour(state.selected, moves[event.key]);
      event.preventDefault();
      if (next !== null) selectNode(next, true);
    } else if (event.key === "c") tree.toggle(state.selected);
  }

  async function start() {
    for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
    renderFilters();
    AF.drawLegend($("legend"));
    $("min-score").addEventListener("input", (event) => {
      state.minScore = Number(event.target.value);
      $("min-score-value").textContent = state.minScore.toFixed(2);
      tree.setFilter(visible);
    });
    $("find").addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const id = Number(event.target.value.trim().replace(/^#/, ""));
      if (Number.isInteger(id)) selectNode(id, true);
    });
    document.addEventListener("keydown", keyboard);
    const runs = await source.runs();
    const select = $("run-select");
    for (const run of runs) select.appendChild(AF.el("option", { value: run.name, text: `${run.name} (${run.status})` }));
    select.hidden = runs.length < 2;
    select.addEventListener("change", () => loadRun(select.value));
    if (!runs.length) {
      AF.clear($("tab-node")).appendChild(AF.el("p", { class: "bad", text: "No run found: start one with agentforge evolve, or give agentforge web the run directory." }));
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1)).get("run");
    const first = runs.find((r) => r.name === wanted) || runs[0];
    select.value = first.name;
    await loadRun(first.name);
    performance.mark("agentforge-tree-drawn");  // perf/web_view.py reads it
    document.body.setAttribute("data-ready", "1");
    poll();
  }

  start().catch((err) => {
    AF.clear($("tab-node")).appendChild(AF.el("p", { class: "bad", text: "could not load: " + String(err.message || err) }));
  });
})();
