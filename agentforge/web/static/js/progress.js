// Progress: every node's score and the best so far against iteration; spend over time.
"use strict";
window.AF = window.AF || {};

AF.progressPanel = function (rows, summary, onSelect) {
  const box = AF.el("div", { class: "progress" });
  const scored = rows.filter((r) => r.score !== null);
  box.appendChild(AF.el("h3", { text: "Validation score by iteration" }));
  const width = 460, height = 230, m = { t: 10, r: 12, b: 30, l: 40 };
  const svg = d3.select(box).append("svg").attr("class", "chart scores-chart")
    .attr("viewBox", `0 0 ${width} ${height}`);
  const order = new Map(rows.map((r, i) => [r.id, i]));
  const x = d3.scaleLinear().domain([0, Math.max(1, rows.length - 1)]).range([m.l, width - m.r]);
  const y = d3.scaleLinear().domain([0, 1]).range([height - m.b, m.t]);
  svg.append("g").attr("transform", `translate(0,${height - m.b})`).call(d3.axisBottom(x).ticks(6));
  svg.append("g").attr("transform", `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(5));
  svg.append("text").attr("x", width - m.r).attr("y", height - 2).attr("text-anchor", "end")
    .attr("class", "axis-label").text("iteration (node, in creation order)");
  let best = -1;
  const steps = [];
  for (const r of rows) {
    if (r.score !== null && (r.status === "evaluated" || r.status === "evaluating") && r.score > best) best = r.score;
    if (best >= 0) steps.push([order.get(r.id), best]);
  }
  svg.append("path").attr("class", "best-line")
    .attr("d", d3.line().curve(d3.curveStepAfter).x((d) => x(d[0])).y((d) => y(d[1]))(steps));
  svg.append("g").selectAll("circle").data(scored).join("circle")
    .attr("class", (r) => "dot st-" + r.status).attr("data-id", (r) => r.id)
    .attr("cx", (r) => x(order.get(r.id))).attr("cy", (r) => y(r.score)).attr("r", rows.length > 1000 ? 1.5 : 3)
    .style("fill", (r) => AF.scoreColour(r.score))
    .on("click", (event, r) => onSelect(r.id))
    .append("title").text((r) => `node ${r.id}: ${AF.fmtScore(r.score)} (${r.tasks} tasks)`);

  const spend = (summary.spend && summary.spend.over_time) || [];
  box.appendChild(AF.el("h3", { text: `Spend over time (${AF.fmtUsd(summary.spend.usd)}, ${AF.fmtInt(summary.spend.tokens)} tokens)` }));
  if (!spend.length) {
    box.appendChild(AF.el("p", { class: "muted", text: "No model calls yet." }));
    return box;
  }
  const points = spend.map(([when, usd, tokens]) => [new Date(when + "Z"), usd, tokens]);
  const start = summary.created_at ? new Date(summary.created_at) : null;
  if (start && !isNaN(start) && start < points[0][0]) points.unshift([start, 0, 0]);  // from zero
  else points.unshift([new Date(points[0][0].getTime() - 60000), 0, 0]);
  const useTokens = points[points.length - 1][1] === 0;  // local models cost nothing: show tokens
  const svg2 = d3.select(box).append("svg").attr("class", "chart spend-chart").attr("viewBox", `0 0 ${width} ${height}`);
  const t = d3.scaleTime().domain(d3.extent(points, (p) => p[0])).range([m.l + 10, width - m.r]);
  const v = d3.scaleLinear().domain([0, d3.max(points, (p) => (useTokens ? p[2] : p[1])) || 1]).nice()
    .range([height - m.b, m.t]);
  svg2.append("g").attr("transform", `translate(0,${height - m.b})`).call(d3.axisBottom(t).ticks(5));
  svg2.append("g").attr("transform", `translate(${m.l + 10},0)`).call(d3.axisLeft(v).ticks(5, useTokens ? "~s" : "$.2~f"));
  svg2.append("path").attr("class", "spend-line")
    .attr("d", d3.line().curve(d3.curveStepAfter).x((p) => t(p[0])).y((p) => v(useTokens ? p[2] : p[1]))(points));
  svg2.append("text").attr("x", width - m.r).attr("y", m.t + 10).attr("text-anchor", "end")
    .attr("class", "axis-label").text(useTokens ? "tokens (cumulative)" : "US$ (cumulative)");
  return box;
};
