// Wiring: the chosen run, the tree, the table, the panels, filters, history, keyboard, and the
// live change feed.
"use strict";
window.AF = window.AF || {};

(function () {
  const $ = (id) => document.getElementById(id);
  const source = AF.source;
  const OVERVIEW_FROM = 1000;  // nodes: from here a run opens on the whole-tree overview
  const state = { run: null, runs: [], rows: [], summary: null, selected: null, compareIds: null, compareA: null,
                  pickingCompare: false, version: null, modeChosen: false };
  const tree = new AF.Tree($("tree"), { onSelect: (id, event) => onNodeClick(id, event) });
  const filters = new AF.Filters($("filters"), onFilter, (text) => source.search(state.run, text));
  const table = new AF.NodeTable($("tab-table"), {
    onSelect: (id) => choose({ node: id }), onCompare: (ids) => choose({ compare: ids }) });
  const ctx = {
    select: (id) => choose({ node: id }),
    compareFrom: (id) => { state.compareA = id; state.pickingCompare = true; setLive("click the node to compare with"); },
    file: (path) => source.file(state.run, path),
    fileUrl: (path) => source.fileUrl(state.run, path),
    linkTo: (view) => ({ run: state.run, ...view }),
  };
  let detailToken = 0;

  const rowsOf = (payload) => payload.rows.map((row) => Object.fromEntries(payload.fields.map((f, i) => [f, row[i]])));
  const setLive = (text) => { $("live").textContent = text; };
  const activeTab = () => document.querySelector("#tabs [aria-selected='true']").dataset.tab;
  const announce = (text) => { $("announce").textContent = text; };

  function showTab(name) {
    for (const button of document.querySelectorAll("#tabs button")) {
      const on = button.dataset.tab === name;
      button.classList.toggle("active", on);
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
    }
    for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.id === "tab-" + name);
    if (name === "progress") renderProgress();
    if (name === "events") renderEvents();
    if (name === "table") table.select(state.selected);
    if (name === "compare" && !state.compareIds) renderCompareForm();
  }

  // The address and the history: every choice of a node or a comparison is an entry.
  const current = () => (state.compareIds ? { run: state.run, compare: state.compareIds } : { run: state.run, node: state.selected });

  // center: bring the node on screen (find, the table, the keyboard); a click on the tree
  // does not, or a double-click's second click would land where the node was.
  function choose(view, replace, center = true) {
    show({ run: state.run, ...view }, center);
    AF.route.go(current(), replace);
  }

  function show(view, center) {
    if (view.compare) compare(view.compare);
    else if (view.node !== null && view.node !== undefined) selectNode(view.node, center);
  }

  async function onHashChange() {
    const view = AF.route.read();
    if (AF.route.hash({ run: state.run, ...view }) === AF.route.hash(current())) return;  // shown already
    if (view.run && view.run !== state.run && state.runs.some((r) => r.name === view.run)) {
      $("run-select").value = view.run;
      await loadRun(view.run, view);
    } else show(view, true);
  }

  function onFilter() {
    const matches = (r) => filters.matches(r);
    tree.setFilter(matches);
    table.setFilter(matches);
    filters.showCount(table.shown.length, state.rows.length);
  }

  function renderHeader() {
    const s = state.summary;
    const phase = source.live ? s.phase : null;
    let pill = s.status + (s.stop_reason ? ` (${s.stop_reason})` : "");
    const toppingUp = phase === "finalizing" && s.finalizing && (s.finalizing.top_up || []).length;
    if (phase === "finalizing") pill = toppingUp ? "finalizing: top-up" : "finalizing: held-out";
    else if (phase === "starting") pill = "starting";
    else if (phase === "gone" || (source.live && s.status === "running" && !s.alive)) pill = "running · process gone";
    $("run-status").textContent = pill;
    $("run-status").className = "pill run-" + (phase === "finalizing" || phase === "starting" ? phase : s.status);
    const valid = state.rows.filter((r) => r.status === "evaluated" || r.status === "evaluating").length;
    $("run-spend").textContent = `${state.rows.length} nodes (${valid} valid) · best ${s.best_id === null ? "–" : "node " + s.best_id}` +
      ` · ${AF.fmtUsd(s.spend.usd)} · ${AF.fmtInt(s.spend.tokens)} tokens`;
    const f = s.in_flight;
    const evaluating = (f.evaluating || []).map((e) => `${e.node_id}:${e.task_id}`).join(", ");
    let flight = "";
    if (toppingUp) {
      flight = `before choosing finalists: more validation tasks for nodes ${s.finalizing.top_up.join(", ")}` +
        (evaluating ? ` · evaluating ${evaluating}` : "");
    } else if (phase === "finalizing" && s.finalizing) {
      flight = `re-scoring nodes ${s.finalizing.finalists.join(", ")} on held-out tasks: ${s.finalizing.done}/${s.finalizing.total} done` +
        (evaluating ? ` · evaluating ${evaluating}` : "");
    } else if (phase === "starting") flight = "the run's process is starting";
    else if ((f.improving || []).length + (f.evaluating || []).length) {
      flight = `in flight: improving ${(f.improving || []).join(", ") || "–"}; evaluating ${evaluating || "–"}`;
    }
    $("run-flight").textContent = flight;
    $("run-flight").title = flight;
  }

  async function loadRun(name, view) {
    state.run = name;
    state.selected = null;
    state.compareIds = null;
    tree.fitted = false;
    tree.folded.clear();
    table.checked.clear();
    if (source.resetVersion) source.resetVersion();
    await refresh();
    if (filters.text) filters.setText(filters.textInput.value);  // ask this run's proposals
    const wanted = view || AF.route.read();
    const mine = !wanted.run || wanted.run === name;
    if (mine && wanted.compare) show(wanted, false);
    else if (mine && wanted.node !== null && tree.byId.has(wanted.node)) selectNode(wanted.node, true);
    else if (state.summary.best_id !== null) selectNode(state.summary.best_id, false);
    AF.route.go(current(), true);
  }

  async function refresh() {
    const [summary, nodes] = await Promise.all([source.summary(state.run), source.nodes(state.run)]);
    const previous = state.selected === null ? null : JSON.stringify(tree.byId.get(state.selected));
    state.summary = summary;
    state.version = summary.version;  // what the change feed compares with
    state.rows = rowsOf(nodes);
    if (!state.modeChosen && !tree.fitted) setMode(state.rows.length >= OVERVIEW_FROM ? "overview" : "tidy", false);
    filters.setOperators(state.rows);
    tree.visible = (r) => filters.matches(r);
    tree.update(state.rows, summary);
    table.setRows(state.rows);
    filters.showCount(table.shown.length, state.rows.length);
    renderHeader();
    if (activeTab() === "progress") renderProgress();
    if (activeTab() === "events") renderEvents();
    if (state.selected !== null) {
      tree.select(state.selected, false);
      if (JSON.stringify(tree.byId.get(state.selected)) !== previous) showNode(state.selected, false);
    }
    $("tree").setAttribute("data-nodes", String(state.rows.length));
  }

  function setMode(mode, chosen) {
    state.modeChosen = state.modeChosen || chosen;
    for (const button of document.querySelectorAll("#view-modes button")) {
      button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    }
    if (tree.rows) tree.setMode(mode); else tree.mode = mode;
    if (state.selected !== null) tree.select(state.selected, false);
  }

  function onNodeClick(id, event) {
    if (state.pickingCompare || (event && event.shiftKey && state.selected !== null)) {
      const a = state.pickingCompare ? state.compareA : state.selected;
      state.pickingCompare = false;
      setLive("");
      choose({ compare: [a, id] });
      return;
    }
    choose({ node: id }, false, false);
  }

  function selectNode(id, center) {
    if (!tree.byId.has(id)) { setLive(`no node ${id} in this run`); return; }
    state.selected = id;
    state.compareIds = null;
    tree.select(id, center);
    table.select(id);
    const row = tree.byId.get(id);
    announce(AF.describeNode(row, (state.summary.best_lineage || []).includes(id)));
    showNode(id, true);
  }

  async function showNode(id, reveal) {
    const token = ++detailToken;
    const tab = $("tab-node");
    if (!tab.firstChild || tab.firstChild.getAttribute("data-node") !== String(id)) {
      AF.clear(tab).appendChild(AF.el("p", { class: "muted", text: `loading node ${id}…` }));
    }
    if (reveal && activeTab() !== "table") showTab("node");  // the table stays open beside the tree
    try {
      const detail = await source.node(state.run, id);
      if (token !== detailToken) return;
      ctx.best = state.summary.best_id;
      AF.clear(tab).appendChild(AF.nodePanel(detail, tree.byId.get(id), ctx));
    } catch (err) {
      if (token === detailToken) AF.clear(tab).appendChild(AF.el("p", { class: "bad", text: String(err.message || err) }));
    }
  }

  async function compare(ids) {
    state.compareIds = ids;
    showTab("compare");
    const tab = AF.clear($("tab-compare"));
    tab.appendChild(AF.compareForm((a, b) => choose({ compare: [a, b] }), ids[0], ids.length === 2 ? ids[1] : null));
    const missing = ids.filter((id) => !tree.byId.has(id));
    if (missing.length) {
      tab.appendChild(AF.el("p", { class: "bad", text: `not nodes of this run: ${missing.join(", ")}` }));
      return;
    }
    const waiting = tab.appendChild(AF.el("p", { class: "muted", text: "loading…" }));
    try {
      if (ids.length === 2) {
        const [a, b] = ids;
        const [da, db] = await Promise.all([source.node(state.run, a), source.node(state.run, b)]);
        let diff;
        try { diff = await source.diff(state.run, a, b); } catch (err) { diff = err; }
        waiting.replaceWith(AF.comparePanel(a, b, da, db, diff, ctx));
      } else {
        waiting.replaceWith(AF.matrixPanel(ids, tree.byId, await source.matrix(state.run, ids), ctx));
      }
    } catch (err) {
      waiting.replaceWith(AF.el("p", { class: "bad", text: String(err.message || err) }));
    }
  }

  function renderCompareForm() {
    AF.clear($("tab-compare")).appendChild(AF.compareForm((a, b) => choose({ compare: [a, b] }), state.selected, null));
  }

  function renderProgress() {
    if (!state.summary) return;
    AF.progressPanel(AF.clear($("tab-progress")), state.rows, state.summary, (id) => choose({ node: id }));
  }

  function renderEvents() {
    const list = AF.el("ol", { class: "events" });
    for (const e of [...(state.summary.events || [])].reverse()) {
      list.appendChild(AF.el("li", {}, AF.el("span", { class: "meta", text: AF.fmtTime(e.created_at) + " " + e.kind + " " }),
        e.node_id !== null ? AF.el("button", { class: "link", text: "node " + e.node_id, onclick: () => choose({ node: e.node_id }) }) : null,
        " " + e.message));
    }
    AF.clear($("tab-events")).appendChild(list);
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

  // The catalog: runs created after the page opened appear (and the first one opens).
  async function pollRuns() {
    try {
      const runs = await source.runs();
      if (runs.map((r) => r.name + r.status).join() !== state.runs.map((r) => r.name + r.status).join()) listRuns(runs);
      if (!state.run && runs.some((r) => r.run_id)) await openFirst();
    } catch (err) { /* the next round tries again */ }
    setTimeout(pollRuns, document.hidden ? 10000 : 3000);
  }

  function listRuns(runs) {
    state.runs = runs;
    const select = AF.clear($("run-select"));
    for (const run of runs) select.appendChild(AF.el("option", { value: run.name, text: `${run.name} (${run.status})` }));
    select.hidden = runs.length < 2;
    if (state.run) select.value = state.run;
  }

  async function openFirst() {
    const readable = state.runs.filter((r) => r.run_id);
    if (!readable.length) {
      const why = state.runs.length ? state.runs.map((r) => `${r.name}: ${r.error || r.status}`).join("; ") : "";
      AF.clear($("tab-node")).appendChild(AF.el("p", { class: "bad", text: "No run found yet: start one with agentforge evolve, " +
        "or give agentforge web the run directory. This page shows it as soon as it exists." + (why ? ` (${why})` : "") }));
      return;
    }
    const wanted = AF.route.read().run;
    const first = readable.find((r) => r.name === wanted) || readable[0];
    $("run-select").value = first.name;
    await loadRun(first.name);
  }

  function keyboard(event) {
    if (event.target.matches("input, select, textarea")) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "/") { event.preventDefault(); $("find").focus(); return; }
    // Arrows move in the tree when the tree (or nothing in particular) has the focus.
    const onTree = event.target === document.body || event.target.closest("#tree-pane");
    if (state.selected === null || !onTree) return;
    const moves = { ArrowUp: "parent", ArrowDown: "child", ArrowLeft: "previous", ArrowRight: "next",
                    k: "parent", j: "child", h: "previous", l: "next" };
    if (event.key in moves) {
      const next = tree.neighbour(state.selected, moves[event.key]);
      event.preventDefault();
      if (next !== null) choose({ node: next });
    } else if (event.key === "c") tree.toggle(state.selected);
  }

  function tabKeys(event) {  // ← → between the tabs, as a tab list does
    const buttons = [...document.querySelectorAll("#tabs button")];
    const at = buttons.indexOf(event.target);
    if (at < 0 || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) return;
    const next = buttons[(at + (event.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length];
    next.focus();
    showTab(next.dataset.tab);
  }

  async function start() {
    for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
    $("tabs").addEventListener("keydown", tabKeys);
    for (const button of document.querySelectorAll("#view-modes button")) {
      button.addEventListener("click", () => setMode(button.dataset.mode, true));
    }
    AF.drawLegend($("legend"));
    $("find").addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const id = Number(event.target.value.trim().replace(/^#/, ""));
      if (Number.isInteger(id)) choose({ node: id });
    });
    document.addEventListener("keydown", keyboard);
    window.addEventListener("hashchange", onHashChange);
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => { table.render(); if (activeTab() === "progress") renderProgress(); }, 150);
    });
    $("run-select").addEventListener("change", () => loadRun($("run-select").value, { run: $("run-select").value, node: null }));
    listRuns(await source.runs());
    await openFirst();
    performance.mark("agentforge-tree-drawn");  // perf/web_view.py reads it
    document.body.setAttribute("data-ready", "1");
    poll();
    if (source.live) setTimeout(pollRuns, 3000);
  }

  start().catch((err) => {
    AF.clear($("tab-node")).appendChild(AF.el("p", { class: "bad", text: "could not load: " + String(err.message || err) }));
  });
})();
