// The archive tree: zoom and pan, folding, colour by score, a mark per status, the best
// lineage in gold. Two layouts: d3's tidy tree, and the overview (layout.js) that shows a big
// archive whole. Filters only toggle a class on the marks (no new layout); ids are drawn for
// the nodes on screen once they are big enough to read.
"use strict";
window.AF = window.AF || {};

const READABLE_SCALE = 0.45;  // below this, the tidy tree's marks are specks
const MAX_LABELS = 1500;      // ids drawn at once (the nodes on screen, zoomed in)
AF.STATUSES = ["evaluated", "evaluating", "pending", "invalid", "failed"];
AF.scoreColour = (score) =>
  score === null || score === undefined ? "#c8c8c8" : d3.interpolateRdYlGn(0.1 + 0.8 * score);
// A copy (an agent the archive already held) is never evaluated: it shows its original's scores.
AF.copyNote = (r) => (r.copy_of === null || r.copy_of === undefined ? "" : `copy of node ${r.copy_of}`);
AF.describeNode = (r, best) => `node ${r.id}, ${AF.copyNote(r) || r.status}, validation ${AF.fmtScore(r.score)} on ${r.tasks} tasks` +
  (r.held_out_tasks ? `, held-out ${AF.fmtScore(r.held_out_score)}` : "") + (best ? ", best lineage" : "");

// A node's mark drawn where it stands (no transform per node: 5,000 of them make every
// repaint slower): a circle, an ✕ for invalid, a square for failed.
AF.markPath = function (status, [x, y], size) {
  const f = (v) => Math.round(v * 100) / 100;
  if (status === "invalid") {
    const a = 4.2 * size;
    return `M${f(x - a)},${f(y - a)}L${f(x + a)},${f(y + a)}M${f(x - a)},${f(y + a)}L${f(x + a)},${f(y - a)}`;
  }
  if (status === "failed") {
    const a = 3.9 * size;
    return `M${f(x - a)},${f(y - a)}h${f(2 * a)}v${f(2 * a)}h${f(-2 * a)}Z`;
  }
  const r = (status === "pending" ? 4.7 : 5.35) * size;
  return `M${f(x + r)},${f(y)}A${f(r)},${f(r)},0,1,1,${f(x - r)},${f(y)}A${f(r)},${f(r)},0,1,1,${f(x + r)},${f(y)}Z`;
};

AF.Tree = class {
  constructor(svg, handlers) {
    this.svg = d3.select(svg);
    this.handlers = handlers;
    this.folded = new Set();
    this.byId = new Map();
    this.elements = new Map();  // id -> the node's mark
    this.selected = null;
    this.mode = "tidy";
    this.visible = () => true;
    this.viewport = this.svg.append("g").attr("class", "viewport");
    this.linkLayer = this.viewport.append("path").attr("class", "links");
    this.lineageLayer = this.viewport.append("path").attr("class", "lineage");
    this.nodeLayer = this.viewport.append("g").attr("class", "nodes");
    this.labelLayer = this.viewport.append("g").attr("class", "labels");
    this.zoom = d3.zoom().scaleExtent([0.02, 16]).on("zoom", (event) => {
      this.viewport.attr("transform", event.transform);
      this.scheduleLabels();
    });
    this.svg.call(this.zoom).on("dblclick.zoom", null);
    this.fitted = false;
    const pick = (event) => {
      const target = event.target.closest("[data-id]");
      return target ? Number(target.getAttribute("data-id")) : null;
    };
    this.nodeLayer.on("click", (event) => {
      const id = pick(event);
      if (id !== null) this.handlers.onSelect(id, event);
    });
    this.nodeLayer.on("dblclick", (event) => {
      const id = pick(event);
      if (id !== null) this.toggle(id);
    });
    // One tooltip for every node (a <title> per node would double the DOM at 5,000 nodes).
    this.tip = d3.select(svg.parentNode).append("div").attr("class", "tip").style("display", "none");
    this.nodeLayer.on("mouseover", (event) => {
      const id = pick(event);
      const r = id === null ? null : this.byId.get(id);
      if (!r) return;
      this.tip.text(`node ${r.id} · ${AF.copyNote(r) || r.status} · score ${AF.fmtScore(r.score)} (${r.tasks} tasks)` +
        (r.summary ? "\n" + r.summary : "") + (r.reason ? "\n" + r.reason : ""));
      const box = svg.getBoundingClientRect();
      this.tip.style("display", null).style("left", `${event.clientX - box.left + 12}px`)
        .style("top", `${event.clientY - box.top + 12}px`);
    });
    this.nodeLayer.on("mouseout", () => this.tip.style("display", "none"));
  }

  // rows: node summaries as objects; summary: the run summary (best lineage, in flight).
  update(rows, summary) {
    this.rows = rows;
    this.summary = summary;
    this.byId = new Map(rows.map((r) => [r.id, r]));
    this.children = new Map();
    for (const r of rows) {
      if (r.parent_id !== null && this.byId.has(r.parent_id)) {
        if (!this.children.has(r.parent_id)) this.children.set(r.parent_id, []);
        this.children.get(r.parent_id).push(r.id);
      }
    }
    this.draw();
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.fitted = false;
    this.draw();
  }

  draw() {
    const rows = this.rows.filter((r) => !this.hiddenByFold(r));
    if (!rows.length) return;
    const stratified = d3.stratify()
      .id((r) => String(r.id))
      .parentId((r) => (r.id === -1 ? null : r.parent_id === null || !this.byId.has(r.parent_id) ? "-1" : String(r.parent_id)))(
        [{ id: -1, parent_id: null }, ...rows]);  // several roots (never in a normal run) hang under one
    const overview = this.mode === "overview";
    this.points = overview ? AF.overviewLayout(stratified) : AF.tidyLayout(stratified);
    this.svg.classed("overview", overview).classed("tidy", !overview);
    const points = this.points;
    const lineage = new Set(this.summary.best_lineage || []);
    const flight = new Set([...(this.summary.in_flight.improving || []),
      ...(this.summary.in_flight.evaluating || []).map((e) => e.node_id)]);
    let links = "", best = "";
    for (const r of rows) {
      if (!points.has(r.parent_id)) continue;
      const [x1, y1] = points.get(r.parent_id), [x2, y2] = points.get(r.id);
      let segment;
      if (overview) segment = `M${x1},${y1}L${x2},${y2}`;
      else {
        const mx = (x1 + x2) / 2;
        segment = `M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
      }
      if (lineage.has(r.id) && lineage.has(r.parent_id)) best += segment;
      else links += segment;
    }
    this.linkLayer.attr("d", links);
    this.lineageLayer.attr("d", best);
    const size = overview ? 0.63 : 1;  // marks in the overview are smaller (its nodes are closer)
    const depth = new Map(stratified.descendants().map((d) => [d.data.id, d.depth]));
    const marks = this.nodeLayer.selectAll("path.node").data(rows, (r) => r.id).join("path")
      .attr("class", (r) => {
        let cls = `node st-${AF.STATUSES.includes(r.status) ? r.status : "other"}`;
        if (lineage.has(r.id)) cls += " best";
        if (AF.copyNote(r)) cls += " copy";
        if (flight.has(r.id)) cls += " inflight";
        if (this.folded.has(r.id) && this.children.has(r.id)) cls += " folded";
        if (r.id === this.selected) cls += " selected";
        if (!this.visible(r)) cls += " dim";
        return cls;
      })
      .attr("data-id", (r) => r.id)
      .attr("id", (r) => "tn-" + r.id)
      .attr("role", "treeitem")
      .attr("aria-level", (r) => depth.get(r.id))
      .attr("aria-selected", (r) => String(r.id === this.selected))
      .attr("aria-label", (r) => AF.describeNode(r, lineage.has(r.id)))
      .attr("d", (r) => AF.markPath(r.status, points.get(r.id), size))
      .style("fill", (r) => (r.status === "pending" || r.status === "invalid" || r.status === "failed"
        ? null : AF.scoreColour(r.score)));
    this.elements = new Map();
    marks.each((r, i, nodes) => { this.elements.set(r.id, nodes[i]); nodes[i].__dim = !this.visible(r); });
    this.drawn = rows;
    this.lineage = lineage;
    if (!this.fitted) this.fit();
    this.drawLabels();
  }

  // Ids beside the marks: every node of a small tree, else the nodes on screen once zoomed in
  // far enough to read them (and the best lineage in the tidy tree).
  drawLabels() {
    if (!this.drawn) return;
    const k = d3.zoomTransform(this.svg.node()).k;
    const overview = this.mode === "overview";
    let labelled;
    if (!overview && this.drawn.length <= 400) labelled = this.drawn;
    else if (k >= (overview ? 1.6 : READABLE_SCALE)) labelled = this.onScreen(MAX_LABELS);
    else labelled = overview ? [] : this.drawn.filter((r) => this.lineage.has(r.id));
    const size = overview ? 11 / Math.max(k, 0.01) : 10;  // the overview's ids keep a readable size
    this.labelLayer.style("font-size", `${size}px`);
    const offset = overview ? 4 : 8;
    this.labelLayer.selectAll("text").data(labelled, (r) => r.id).join("text")
      .attr("x", (r) => this.points.get(r.id)[0] + offset).attr("y", (r) => this.points.get(r.id)[1] + size * 0.35)
      .attr("class", (r) => (this.visible(r) ? "" : "dim"))
      .text((r) => (this.folded.has(r.id) && this.children.has(r.id)
        ? `${r.id} (+${this.countBelow(r.id)})` : String(r.id)));
  }

  scheduleLabels() {
    if (this.labelFrame) return;
    this.labelFrame = requestAnimationFrame(() => { this.labelFrame = null; this.drawLabels(); });
  }

  onScreen(limit) {
    const t = d3.zoomTransform(this.svg.node());
    const width = this.svg.node().clientWidth, height = this.svg.node().clientHeight;
    const [x0, y0] = t.invert([0, 0]), [x1, y1] = t.invert([width, height]);
    const found = [];
    for (const r of this.drawn) {
      const [x, y] = this.points.get(r.id);
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
        found.push(r);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  hiddenByFold(row) {
    let cursor = row.parent_id;
    while (cursor !== null && cursor !== undefined && this.byId.has(cursor)) {
      if (this.folded.has(cursor)) return true;
      cursor = this.byId.get(cursor).parent_id;
    }
    return false;
  }

  countBelow(id) {
    let count = 0;
    const stack = [...(this.children.get(id) || [])];
    while (stack.length) {
      const next = stack.pop();
      count += 1;
      stack.push(...(this.children.get(next) || []));
    }
    return count;
  }

  fit() {
    const width = this.svg.node().clientWidth || 800, height = this.svg.node().clientHeight || 600;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of this.points.values()) {
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    if (x0 === Infinity) return;
    const box = { x: x0 - 10, y: y0 - 10, width: x1 - x0 + 60, height: y1 - y0 + 20 };
    const scale = Math.max(0.02, Math.min(2, 0.92 * Math.min(width / (box.width + 40), height / (box.height + 40))));
    let transform = d3.zoomIdentity
      .translate(width / 2 - scale * (box.x + box.width / 2), height / 2 - scale * (box.y + box.height / 2))
      .scale(scale);
    const focus = this.points.get(this.summary && this.summary.best_id);
    if (this.mode === "tidy" && scale < READABLE_SCALE && focus) {
      // A tidy tree too big to read whole: start readable, on the best node (the overview shows all).
      const k = Math.min(READABLE_SCALE, Math.max(scale, 0.92 * width / (box.width + 40)));
      transform = d3.zoomIdentity.translate(width / 2 - k * (box.x + box.width / 2), height / 2 - k * focus[1]).scale(k);
      if (k * box.width > width) transform = d3.zoomIdentity.translate(width / 2 - k * focus[0], height / 2 - k * focus[1]).scale(k);
    }
    this.svg.call(this.zoom.transform, transform);
    this.fitted = true;
  }

  toggle(id) {
    if (!this.children.has(id)) return;
    if (this.folded.has(id)) this.folded.delete(id); else this.folded.add(id);
    this.draw();
  }

  // A filter changed: only the marks whose visibility changed get touched (no layout).
  setFilter(visible) {
    this.visible = visible;
    for (const [id, node] of this.elements) {
      const dim = !visible(this.byId.get(id));
      if (node.__dim !== dim) {
        node.__dim = dim;
        node.classList.toggle("dim", dim);
      }
    }
    this.labelLayer.selectAll("text").attr("class", (r) => (visible(r) ? "" : "dim"));
  }

  select(id, center) {
    const previous = this.elements.get(this.selected);
    this.selected = id;
    // Unfold the ancestors so that the node is on screen.
    let cursor = this.byId.has(id) ? this.byId.get(id).parent_id : null;
    let unfolded = false;
    while (cursor !== null && cursor !== undefined && this.byId.has(cursor)) {
      if (this.folded.delete(cursor)) unfolded = true;
      cursor = this.byId.get(cursor).parent_id;
    }
    if (unfolded) this.draw();
    if (previous) previous.classList.remove("selected");
    if (previous) previous.setAttribute("aria-selected", "false");
    const mark = this.elements.get(id);
    if (mark) {
      mark.classList.add("selected");
      mark.setAttribute("aria-selected", "true");
      this.svg.attr("aria-activedescendant", "tn-" + id);
    }
    if (center && this.points && this.points.has(id) && !this.comfortablyOnScreen(id)) {
      const [x, y] = this.points.get(id);
      const current = d3.zoomTransform(this.svg.node());
      const k = this.mode === "tidy" ? Math.max(current.k, 0.6) : current.k;
      const width = this.svg.node().clientWidth, height = this.svg.node().clientHeight;
      this.svg.transition().duration(250).call(this.zoom.transform,
        d3.zoomIdentity.translate(width / 2 - k * x, height / 2 - k * y).scale(k));
    }
  }

  // Whether the node is on screen, away from the edges (then selecting it moves nothing).
  comfortablyOnScreen(id) {
    const t = d3.zoomTransform(this.svg.node());
    const [x, y] = t.apply(this.points.get(id));
    const width = this.svg.node().clientWidth, height = this.svg.node().clientHeight;
    const margin = Math.min(80, width / 6, height / 6);
    const readable = this.mode === "overview" || t.k >= 0.6;
    return readable && x > margin && x < width - margin && y > margin && y < height - margin;
  }

  // Keyboard moves: the parent, the first child, the previous or next sibling.
  neighbour(id, move) {
    const row = this.byId.get(id);
    if (!row) return null;
    if (move === "parent") return this.byId.has(row.parent_id) ? row.parent_id : null;
    if (move === "child") {
      const kids = this.children.get(id) || [];
      return kids.length ? kids[0] : null;
    }
    const siblings = this.children.get(row.parent_id) || [id];
    const at = siblings.indexOf(id) + (move === "next" ? 1 : -1);
    return at >= 0 && at < siblings.length ? siblings[at] : null;
  }
};
