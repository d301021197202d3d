// The archive tree: d3's tidy tree, zoom and pan, folding, colour by score, a mark per status.
"use strict";
window.AF = window.AF || {};

const READABLE_SCALE = 0.45;  // below this, node marks are specks
AF.STATUSES = ["evaluated", "evaluating", "pending", "invalid", "failed"];
AF.scoreColour = (score) =>
  score === null || score === undefined ? "#c8c8c8" : d3.interpolateRdYlGn(0.1 + 0.8 * score);

AF.Tree = class {
  constructor(svg, handlers) {
    this.svg = d3.select(svg);
    this.handlers = handlers;
    this.folded = new Set();
    this.byId = new Map();
    this.selected = null;
    this.visible = () => true;
    this.viewport = this.svg.append("g").attr("class", "viewport");
    this.linkLayer = this.viewport.append("path").attr("class", "links");
    this.lineageLayer = this.viewport.append("path").attr("class", "lineage");
    this.nodeLayer = this.viewport.append("g").attr("class", "nodes");
    this.labelLayer = this.viewport.append("g").attr("class", "labels");
    this.zoom = d3.zoom().scaleExtent([0.02, 4]).on("zoom", (event) => {
      this.viewport.attr("transform", event.transform);
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
      this.tip.text(`node ${r.id} · ${r.status} · score ${AF.fmtScore(r.score)} (${r.tasks} tasks)` +
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

  draw() {
    const rows = this.rows.filter((r) => !this.hiddenByFold(r));
    if (!rows.length) return;
    const roots = rows.filter((r) => r.parent_id === null || !this.byId.has(r.parent_id));
    // Several roots (never in a normal run) hang under one invisible root.
    const stratified = d3.stratify()
      .id((r) => String(r.id))
      .parentId((r) => (r.id === -1 ? null : r.parent_id === null || !this.byId.has(r.parent_id) ? "-1" : String(r.parent_id)))(
        [{ id: -1, parent_id: null }, ...rows]);
    const layout = d3.tree().nodeSize([16, 110]).separation((a, b) => (a.parent === b.parent ? 1 : 1.4));
    layout(stratified);
    const points = new Map();
    for (const d of stratified.descendants()) {
      if (d.data.id !== -1) points.set(d.data.id, [d.y - 110, d.x]);
    }
    this.points = points;
    const lineage = new Set(this.summary.best_lineage || []);
    const flight = new Set([...(this.summary.in_flight.improving || []),
      ...(this.summary.in_flight.evaluating || []).map((e) => e.node_id)]);
    let links = "", best = "";
    for (const r of rows) {
      if (!points.has(r.parent_id)) continue;
      const [x1, y1] = points.get(r.parent_id), [x2, y2] = points.get(r.id);
      const mx = (x1 + x2) / 2;
      const segment = `M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
      if (lineage.has(r.id) && lineage.has(r.parent_id)) best += segment;
      else links += segment;
    }
    this.linkLayer.attr("d", links);
    this.lineageLayer.attr("d", best);
    const symbols = {
      evaluated: d3.symbol(d3.symbolCircle, 90)(), evaluating: d3.symbol(d3.symbolCircle, 90)(),
      pending: d3.symbol(d3.symbolCircle, 70)(), invalid: d3.symbol(d3.symbolTimes, 70)(),
      failed: d3.symbol(d3.symbolSquare, 60)(),
    };
    this.nodeLayer.selectAll("path.node").data(rows, (r) => r.id).join("path")
      .attr("class", (r) => {
        let cls = `node st-${AF.STATUSES.includes(r.status) ? r.status : "other"}`;
        if (lineage.has(r.id)) cls += " best";
        if (flight.has(r.id)) cls += " inflight";
        if (this.folded.has(r.id) && this.children.has(r.id)) cls += " folded";
        if (r.id === this.selected) cls += " selected";
        if (!this.visible(r)) cls += " dim";
        return cls;
      })
      .attr("data-id", (r) => r.id)
      .attr("d", (r) => symbols[r.status] || symbols.pending)
      .attr("transform", (r) => `translate(${points.get(r.id)[0]},${points.get(r.id)[1]})`)
      .style("fill", (r) => (r.status === "pending" || r.status === "invalid" || r.status === "failed"
        ? null : AF.scoreColour(r.score)));
    const labelled = rows.length <= 400 ? rows : rows.filter((r) => lineage.has(r.id));
    this.labelLayer.selectAll("text").data(labelled, (r) => r.id).join("text")
      .attr("x", (r) => points.get(r.id)[0] + 8).attr("y", (r) => points.get(r.id)[1] + 4)
      .attr("class", (r) => (this.visible(r) ? "" : "dim"))
      .text((r) => (this.folded.has(r.id) && this.children.has(r.id)
        ? `${r.id} (+${this.countBelow(r.id)})` : String(r.id)));
    if (!this.fitted) this.fit();
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
    const box = this.viewport.node().getBBox();
    const width = this.svg.node().clientWidth || 800, height = this.svg.node().clientHeight || 600;
    if (!box.width && !box.height) return;
    const scale = Math.max(0.02, Math.min(2, 0.92 * Math.min(width / (box.width + 40), height / (box.height + 40))));
    let transform = d3.zoomIdentity
      .translate(width / 2 - scale * (box.x + box.width / 2), height / 2 - scale * (box.y + box.height / 2))
      .scale(scale);
    const focus = this.points && this.points.get(this.summary && this.summary.best_id);
    if (scale < READABLE_SCALE && focus) {
      // A tree too big to read whole: start readable, on the best node (zoom out to see all).
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

  setFilter(visible) {
    this.visible = visible;
    this.draw();
  }

  select(id, center) {
    this.selected = id;
    // Unfold the ancestors so that the node is on screen.
    let cursor = this.byId.has(id) ? this.byId.get(id).parent_id : null;
    let unfolded = false;
    while (cursor !== null && cursor !== undefined && this.byId.has(cursor)) {
      if (this.folded.delete(cursor)) unfolded = true;
      cursor = this.byId.get(cursor).parent_id;
    }
    if (unfolded) this.draw();
    this.nodeLayer.selectAll("path.node").classed("selected", (r) => r.id === id);
    if (center && this.points && this.points.has(id)) {
      const [x, y] = this.points.get(id);
      const current = d3.zoomTransform(this.svg.node());
      const k = Math.max(current.k, 0.6);
      const width = this.svg.node().clientWidth, height = this.svg.node().clientHeight;
      this.svg.transition().duration(250).call(this.zoom.transform,
        d3.zoomIdentity.translate(width / 2 - k * x, height / 2 - k * y).scale(k));
    }
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

// The legend: one mark per status and the score colours.
AF.drawLegend = function (container) {
  const svg = d3.select(container).append("svg").attr("class", "legend").attr("width", 430).attr("height", 22);
  const marks = [["evaluated", d3.symbolCircle, 0.7], ["evaluating", d3.symbolCircle, 0.5],
    ["pending", d3.symbolCircle, null], ["invalid", d3.symbolTimes, null], ["failed", d3.symbolSquare, null]];
  let x = 8;
  for (const [status, type, score] of marks) {
    svg.append("path").attr("class", `mark st-${status}`).attr("d", d3.symbol(type, 70)())
      .attr("transform", `translate(${x},11)`).style("fill", score === null ? null : AF.scoreColour(score));
    svg.append("text").attr("x", x + 8).attr("y", 15).text(status);
    x += 16 + status.length * 6.2;
  }
  const gradient = svg.append("defs").append("linearGradient").attr("id", "score-gradient");
  for (const stop of [0, 0.25, 0.5, 0.75, 1]) {
    gradient.append("stop").attr("offset", stop).attr("stop-color", AF.scoreColour(stop));
  }
  svg.append("text").attr("x", x).attr("y", 15).text("0");
  svg.append("rect").attr("x", x + 9).attr("y", 5).attr("width", 50).attr("height", 11).attr("fill", "url(#score-gradient)");
  svg.append("text").attr("x", x + 62).attr("y", 15).text("1");
};
