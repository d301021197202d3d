// Progress: every node's score and the best so far by iteration; spend by iteration, by
// operator and over time. Charts are drawn at the panel's own width in CSS pixels (no scaling
// of a fixed drawing), so their text stays 11-12 px whatever the window.
"use strict";
window.AF = window.AF || {};

const CHART_HEIGHT = 220;
const MARGIN = { t: 12, r: 16, b: 38, l: 56 };

// Integer ticks only: iterations are whole.
AF.integerAxis = (scale, count) => d3.axisBottom(scale)
  .tickValues(scale.ticks(count).filter(Number.isInteger)).tickFormat(d3.format("d"));

// Draws into `container` (already on the page: labels are laid out by their measured width).
// Dollars with as many decimals as the ticks' step needs ($0.005, $0.25, $12), or tokens (12k).
AF.amountAxis = (scale, tokens) => {
  const [low, high] = scale.domain();
  const decimals = d3.precisionFixed(d3.tickStep(low, high, 5) || 1);
  return d3.axisLeft(scale).ticks(5).tickFormat(tokens ? d3.format("~s") : d3.format(`$,.${decimals}f`));
};

AF.progressPanel = function (container, rows, summary, onSelect) {
  const box = container.appendChild(AF.el("div", { class: "progress" }));
  const w = Math.max(300, Math.floor(box.clientWidth || 460));
  const useTokens = !(summary.spend && summary.spend.usd) && rows.some((r) => r.tokens);  // local models cost nothing
  box.appendChild(AF.el("h3", { text: "Validation score by iteration" }));
  scoreChart(box, rows, onSelect, w);
  box.appendChild(AF.el("h3", { text: `Spend by iteration (${useTokens ? "tokens" : "US$"} of each node: making and evaluating it)` }));
  spendByIteration(box, rows, useTokens, w);
  box.appendChild(AF.el("h3", { text: "Spend by operator" }));
  box.appendChild(spendByOperator(rows, useTokens));
  spendOverTime(box, summary, w);
  return box;
};

function chart(box, cls, width, label) {
  const svg = d3.select(box).append("svg").attr("class", "chart " + cls)
    .attr("width", width).attr("height", CHART_HEIGHT).attr("role", "img").attr("aria-label", label);
  return svg;
}

function xLabel(svg, width, text) {
  svg.append("text").attr("x", width - MARGIN.r).attr("y", CHART_HEIGHT - 4).attr("text-anchor", "end")
    .attr("class", "axis-label").text(text);
}

function scoreChart(box, rows, onSelect, width) {
  const svg = chart(box, "scores-chart", width, "Validation score of every node by iteration, and the best so far");
  const x = d3.scaleLinear().domain([0, Math.max(1, rows.length - 1)]).range([MARGIN.l, width - MARGIN.r]);
  const y = d3.scaleLinear().domain([0, 1]).range([CHART_HEIGHT - MARGIN.b, MARGIN.t]);
  svg.append("g").attr("class", "x-axis").attr("transform", `translate(0,${CHART_HEIGHT - MARGIN.b})`).call(AF.integerAxis(x, 8));
  svg.append("g").attr("transform", `translate(${MARGIN.l},0)`).call(d3.axisLeft(y).ticks(5));
  xLabel(svg, width, "iteration (nodes in creation order; the seed is 0)");
  const order = new Map(rows.map((r, i) => [r.id, i]));
  let best = -1;
  const steps = [];
  for (const r of rows) {
    if (r.score !== null && (r.status === "evaluated" || r.status === "evaluating") && r.score > best) best = r.score;
    if (best >= 0) steps.push([order.get(r.id), best]);
  }
  svg.append("path").attr("class", "best-line")
    .attr("d", d3.line().curve(d3.curveStepAfter).x((d) => x(d[0])).y((d) => y(d[1]))(steps));
  svg.append("g").selectAll("circle").data(rows.filter((r) => r.score !== null)).join("circle")
    .attr("class", (r) => "dot st-" + r.status).attr("data-id", (r) => r.id)
    .attr("cx", (r) => x(order.get(r.id))).attr("cy", (r) => y(r.score)).attr("r", rows.length > 1000 ? 1.5 : 3)
    .style("fill", (r) => AF.scoreColour(r.score))
    .on("click", (event, r) => onSelect(r.id))
    .append("title").text((r) => `node ${r.id}: ${AF.fmtScore(r.score)} (${r.tasks} tasks)`);
}

function operatorColours(rows) {
  const names = [...new Set(rows.map((r) => r.operator || "seed"))].sort();
  return d3.scaleOrdinal(names, d3.schemeTableau10);
}

function spendByIteration(box, rows, useTokens, width) {
  const value = (r) => (useTokens ? r.tokens || 0 : r.cost_usd || 0);
  const colour = operatorColours(rows);
  const names = colour.domain();
  const room = Math.max(1, Math.floor((width - MARGIN.l - MARGIN.r) / 4));
  const per = Math.max(1, Math.ceil(rows.length / room));  // iterations per bar
  const bins = [];
  rows.forEach((r, i) => {
    const at = Math.floor(i / per);
    if (!bins[at]) bins[at] = Object.fromEntries([["start", at * per], ...names.map((n) => [n, 0])]);
    bins[at][r.operator || "seed"] += value(r);
  });
  const stacked = d3.stack().keys(names)(bins);
  const svg = chart(box, "spend-iteration-chart", width, "Spend of each iteration's node, by operator");
  const x = d3.scaleLinear().domain([0, Math.max(1, rows.length)]).range([MARGIN.l, width - MARGIN.r]);
  const top = d3.max(stacked.length ? stacked[stacked.length - 1] : [], (d) => d[1]) || 1;
  const y = d3.scaleLinear().domain([0, top]).nice().range([CHART_HEIGHT - MARGIN.b, MARGIN.t + 14]);  // room for the key
  svg.append("g").attr("class", "x-axis").attr("transform", `translate(0,${CHART_HEIGHT - MARGIN.b})`).call(AF.integerAxis(x, 8));
  svg.append("g").attr("transform", `translate(${MARGIN.l},0)`).call(AF.amountAxis(y, useTokens));
  const barWidth = Math.max(1, x(per) - x(0) - (per === 1 && rows.length < 60 ? 1 : 0));
  for (const layer of stacked) {
    svg.append("g").attr("fill", colour(layer.key)).attr("class", "bars").attr("data-operator", layer.key)
      .selectAll("rect").data(layer).join("rect")
      .attr("x", (d) => x(d.data.start)).attr("width", barWidth)
      .attr("y", (d) => y(d[1])).attr("height", (d) => Math.max(0, y(d[0]) - y(d[1])))
      .append("title").text((d) => `${layer.key}, iteration${per > 1 ? "s" : ""} ${d.data.start}` +
        (per > 1 ? `–${d.data.start + per - 1}` : "") + `: ${useTokens ? AF.fmtInt(d[1] - d[0]) + " tokens" : AF.fmtUsd(d[1] - d[0])}`);
  }
  xLabel(svg, width, per > 1 ? `iteration (${per} per bar)` : "iteration");
  let x0 = MARGIN.l;
  for (const name of names) {  // the operators' colours, measured so that they never overlap
    svg.append("rect").attr("x", x0).attr("y", 2).attr("width", 10).attr("height", 10).attr("fill", colour(name));
    const label = svg.append("text").attr("x", x0 + 14).attr("y", 11).attr("class", "axis-label").text(name);
    x0 += 14 + label.node().getComputedTextLength() + 12;
  }
}

function spendByOperator(rows, useTokens) {
  const el = AF.el;
  const groups = d3.rollups(rows, (list) => ({
    nodes: list.length, usd: d3.sum(list, (r) => r.cost_usd || 0), tokens: d3.sum(list, (r) => r.tokens || 0),
    valid: list.filter((r) => r.status === "evaluated" || r.status === "evaluating").length,
    best: d3.max(list, (r) => r.score),
  }), (r) => r.operator || "seed").sort((a, b) => d3.descending(a[1].usd, b[1].usd) || d3.descending(a[1].tokens, b[1].tokens));
  const total = d3.sum(groups, ([, g]) => (useTokens ? g.tokens : g.usd)) || 1;
  const colour = operatorColours(rows);
  const table = el("table", { class: "tasks operators" }, el("thead", {}, el("tr", {},
    ...["operator", "nodes", useTokens ? "tokens" : "spend", "share", "per node", "valid", "best score"].map((h) => el("th", { scope: "col", text: h })))));
  const body = el("tbody");
  for (const [name, g] of groups) {
    const amount = useTokens ? g.tokens : g.usd;
    const bar = el("div", { class: "share" });
    bar.style.width = `${(100 * amount) / total}%`;
    bar.style.background = colour(name);
    const fmt = (v) => (useTokens ? AF.fmtInt(Math.round(v)) : AF.fmtUsd(v));
    body.appendChild(el("tr", { "data-operator": name }, el("td", { text: name }), el("td", { class: "num", text: AF.fmtInt(g.nodes) }),
      el("td", { class: "num", text: fmt(amount) }), el("td", { class: "bar" }, el("div", { class: "track" }, bar)),
      el("td", { class: "num", text: fmt(amount / g.nodes) }), el("td", { class: "num", text: `${Math.round((100 * g.valid) / g.nodes)}%` }),
      el("td", { class: "num", text: AF.fmtScore(g.best === undefined ? null : g.best) })));
  }
  table.appendChild(body);
  return table;
}

function spendOverTime(box, summary, width) {
  const spend = (summary.spend && summary.spend.over_time) || [];
  box.appendChild(AF.el("h3", { text: `Spend over time (${AF.fmtUsd(summary.spend.usd)}, ${AF.fmtInt(summary.spend.tokens)} tokens)` }));
  if (!spend.length) {
    box.appendChild(AF.el("p", { class: "muted", text: "No model calls yet." }));
    return;
  }
  const points = spend.map(([when, usd, tokens]) => [new Date(when + "Z"), usd, tokens]);
  const start = summary.created_at ? new Date(summary.created_at) : null;
  if (start && !isNaN(start) && start < points[0][0]) points.unshift([start, 0, 0]);  // from zero
  else points.unshift([new Date(points[0][0].getTime() - 60000), 0, 0]);
  const useTokens = points[points.length - 1][1] === 0;
  const svg = chart(box, "spend-chart", width, "Cumulative spend over time");
  const t = d3.scaleTime().domain(d3.extent(points, (p) => p[0])).range([MARGIN.l, width - MARGIN.r]);
  const v = d3.scaleLinear().domain([0, d3.max(points, (p) => (useTokens ? p[2] : p[1])) || 1]).nice()
    .range([CHART_HEIGHT - MARGIN.b, MARGIN.t]);
  svg.append("g").attr("transform", `translate(0,${CHART_HEIGHT - MARGIN.b})`).call(d3.axisBottom(t).ticks(Math.max(2, Math.floor(width / 110))));
  svg.append("g").attr("transform", `translate(${MARGIN.l},0)`).call(AF.amountAxis(v, useTokens));
  svg.append("path").attr("class", "spend-line")
    .attr("d", d3.line().curve(d3.curveStepAfter).x((p) => t(p[0])).y((p) => v(useTokens ? p[2] : p[1]))(points));
  svg.append("text").attr("x", width - MARGIN.r).attr("y", MARGIN.t + 10).attr("text-anchor", "end")
    .attr("class", "axis-label").text(useTokens ? "tokens (cumulative)" : "US$ (cumulative)");
}
