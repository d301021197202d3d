// Where the tree's nodes go (the tidy tree, or the overview of a whole big archive), and the legend.
"use strict";
window.AF = window.AF || {};

// d3's tidy tree, left to right: one row per leaf (readable, long for big archives).
AF.tidyLayout = function (root) {
  d3.tree().nodeSize([16, 110]).separation((a, b) => (a.parent === b.parent ? 1 : 1.4))(root);
  const points = new Map();
  for (const d of root.descendants()) if (d.data.id !== -1) points.set(d.data.id, [d.y - 110, d.x]);
  return points;
};

// The overview: a radial tree on a disc where every node gets about the same area. The seed
// is at the centre; each depth is a ring whose width grows with the number of nodes at that
// depth (so a crowded depth gets room), and a crowded ring staggers its nodes over a few
// lanes. The angle comes from d3's radial tidy tree, so subtrees stay together.
AF.overviewLayout = function (root) {
  const nodes = root.descendants().filter((d) => d.data.id !== -1);
  const count = nodes.length;
  const radius = Math.max(60, Math.sqrt((count * 110) / Math.PI));  // ~110 units² per node
  d3.tree().size([2 * Math.PI, 1]).separation((a, b) => (a.parent === b.parent ? 1 : 2) / Math.max(1, a.depth))(root);
  const byDepth = [];
  for (const d of nodes) (byDepth[d.depth - 1] = byDepth[d.depth - 1] || []).push(d);
  const points = new Map();
  let seen = 0, inner = 0;
  byDepth.forEach((ring, depth) => {
    seen += ring.length;
    const outer = radius * Math.sqrt(seen / count);
    if (depth === 0 && ring.length === 1) {
      points.set(ring[0].data.id, [0, 0]);
      inner = outer;
      return;
    }
    const band = outer - inner;
    const middle = (inner + outer) / 2;
    const spacing = (2 * Math.PI * middle) / ring.length;  // along the ring, per node
    const lanes = Math.max(1, Math.min(8, Math.round(Math.sqrt(band / Math.max(spacing, 0.01)))));
    ring.sort((a, b) => a.x - b.x);
    ring.forEach((d, i) => {
      const r = inner + ((i % lanes) + 0.5) * (band / lanes);
      const angle = d.x - Math.PI / 2;
      points.set(d.data.id, [r * Math.cos(angle), r * Math.sin(angle)]);
    });
    inner = outer;
  });
  return points;
};

// The legend: one mark per status and the score colours, laid out by measured text widths.
AF.drawLegend = function (container) {
  const svg = d3.select(container).append("svg").attr("class", "legend").attr("height", 22)
    .attr("role", "img").attr("aria-label", "Legend: a mark per status; fill colour is the validation score from 0 (red) to 1 (green)");
  const marks = [["evaluated", d3.symbolCircle, 0.7], ["evaluating", d3.symbolCircle, 0.5],
    ["pending", d3.symbolCircle, null], ["invalid", d3.symbolTimes, null], ["failed", d3.symbolSquare, null],
    ["copy", d3.symbolCircle, 0.7]];
  let x = 8;
  for (const [status, type, score] of marks) {
    const cls = status === "copy" ? "mark st-evaluated copy" : `mark st-${status}`;
    svg.append("path").attr("class", cls).attr("d", d3.symbol(type, 70)())
      .attr("transform", `translate(${x},11)`).style("fill", score === null ? null : AF.scoreColour(score));
    const label = svg.append("text").attr("x", x + 8).attr("y", 15).text(status);
    x += 8 + label.node().getComputedTextLength() + 16;  // text, then a gap before the next mark
  }
  const gradient = svg.append("defs").append("linearGradient").attr("id", "score-gradient");
  for (const stop of [0, 0.25, 0.5, 0.75, 1]) {
    gradient.append("stop").attr("offset", stop).attr("stop-color", AF.scoreColour(stop));
  }
  const zero = svg.append("text").attr("x", x).attr("y", 15).text("score 0");
  x += zero.node().getComputedTextLength() + 4;
  svg.append("rect").attr("x", x).attr("y", 5).attr("width", 50).attr("height", 11).attr("fill", "url(#score-gradient)");
  svg.append("text").attr("x", x + 54).attr("y", 15).text("1");
  svg.attr("width", x + 64);
};
