// A trajectory's model calls on a timeline: when each started, its latency, tokens in and out,
// its cost, and the totals. The ledger's rows (what the gateway booked: the authority on time,
// tokens and cost) are paired in order with the trajectory's own records (the thread and why the
// model stopped); a call only one side has is shown and said so.
"use strict";
window.AF = window.AF || {};

// ledger: {fields, rows} rows of this trajectory's calls (may be empty); records: the
// trajectory's model_calls.
AF.callTimeline = function (ledger, records) {
  const el = AF.el;
  const calls = AF.pairCalls(ledger, Array.isArray(records) ? records : []);
  const box = el("div", { class: "timeline" }, el("h4", { text: "Model calls" }));
  if (!calls.length) return AF.append(box, [el("p", { class: "muted", text: "No model call recorded." })]);
  // Start times: the ledger's; a call without one follows the previous call.
  let clock = 0;
  const first = calls.find((c) => c.started !== null);
  const origin = first ? first.started : 0;
  for (const call of calls) {
    call.offset = call.started === null ? clock : (call.started - origin) / 1000;
    clock = call.offset + (call.latency || 0);
  }
  const span = Math.max(...calls.map((c) => c.offset + (c.latency || 0)), 0.001);
  const sum = (key) => calls.reduce((total, c) => total + (c[key] || 0), 0);
  box.appendChild(el("p", { class: "meta timeline-totals", text:
    `${calls.length} calls · ${sum("latency").toFixed(1)} s waiting on the model over ${span.toFixed(1)} s · ` +
    `${AF.fmtInt(sum("tokensIn"))} tokens in · ${AF.fmtInt(sum("tokensOut"))} out · ${AF.fmtUsd(sum("cost"))}` +
    (calls.every((c) => c.source === "trajectory") ? " (the agent's own record: no ledger row)" : "") }));
  const table = el("table", { class: "tasks calls" }, el("thead", {}, el("tr", {},
    ...["#", "thread", "start", "time line", "latency", "in", "out", "cost", "end"].map((h) => el("th", { scope: "col", text: h })))));
  const body = el("tbody");
  calls.forEach((call, i) => {
    const bar = el("div", { class: "span " + (call.status === "ok" ? "ok" : "other") });
    bar.style.left = `${(100 * call.offset) / span}%`;
    bar.style.width = `${Math.max(0.4, (100 * (call.latency || 0)) / span)}%`;
    body.appendChild(el("tr", { class: "call from-" + call.source, title: call.note || "" },
      el("td", { text: i + 1 }), el("td", { text: call.thread || "–" }),
      el("td", { class: "num", text: `+${call.offset.toFixed(1)} s` }),
      el("td", { class: "bar" }, el("div", { class: "track" }, bar)),
      el("td", { class: "num", text: call.latency === null ? "–" : `${call.latency.toFixed(2)} s` }),
      el("td", { class: "num", text: AF.fmtInt(call.tokensIn) }), el("td", { class: "num", text: AF.fmtInt(call.tokensOut) }),
      el("td", { class: "num", text: AF.fmtUsd(call.cost) }),
      el("td", { text: [call.status === "ok" ? null : call.status, call.finish].filter(Boolean).join(" · ") || "–" })));
  });
  body.appendChild(el("tr", { class: "totals" }, el("td", { colspan: 4, text: "total" }),
    el("td", { class: "num", text: `${sum("latency").toFixed(2)} s` }),
    el("td", { class: "num", text: AF.fmtInt(sum("tokensIn")) }), el("td", { class: "num", text: AF.fmtInt(sum("tokensOut")) }),
    el("td", { class: "num", text: AF.fmtUsd(sum("cost")) }), el("td")));
  table.appendChild(body);
  box.appendChild(table);
  const onlyLedger = calls.filter((c) => c.source === "ledger").length;
  const onlyAgent = calls.filter((c) => c.source === "trajectory").length;
  if ((onlyLedger || onlyAgent) && onlyAgent !== calls.length) {
    box.appendChild(el("p", { class: "meta", text: `${onlyLedger} call(s) only in the ledger (retries, errors, calls the ` +
      `agent did not record) · ${onlyAgent} only in the trajectory (not booked by the gateway)` }));
  }
  return box;
};

// Pairs ledger rows with trajectory records, in order, by their token counts.
AF.pairCalls = function (ledger, records) {
  const fields = (ledger && ledger.fields) || [];
  const rows = ((ledger && ledger.rows) || []).map((row) => Object.fromEntries(fields.map((f, i) => [f, row[i]])));
  const fromLedger = (row) => ({
    source: "ledger", started: row.started_at ? Date.parse(row.started_at) : null, latency: row.latency_s,
    tokensIn: row.prompt_tokens, tokensOut: row.completion_tokens, cost: row.cost_usd,
    status: row.cached ? "cached" : row.status, thread: null, finish: null });
  const calls = [];
  let next = 0;
  for (const record of records) {
    const usage = (record && record.usage) || {};
    const tokensIn = Number(usage.prompt_tokens) || 0, tokensOut = Number(usage.completion_tokens) || 0;
    let at = -1;
    for (let j = next; j < rows.length && j < next + 8; j++) {
      if (rows[j].prompt_tokens === tokensIn && rows[j].completion_tokens === tokensOut) { at = j; break; }
    }
    if (at < 0) {
      calls.push({ source: "trajectory", started: null, latency: Number(record.latency) || null, tokensIn, tokensOut,
        cost: Number(record.cost) || 0, status: "ok", thread: String(record.thread || ""), finish: record.finish_reason || null,
        note: "recorded by the agent, not found in the ledger" });
      continue;
    }
    for (; next < at; next++) calls.push({ ...fromLedger(rows[next]), note: "booked by the gateway, not in the trajectory" });
    calls.push({ ...fromLedger(rows[at]), source: "both", thread: String(record.thread || ""),
      finish: record.finish_reason ? String(record.finish_reason) : null,
      note: record.latency !== undefined ? `the agent measured ${record.latency} s` : "" });
    next = at + 1;
  }
  for (; next < rows.length; next++) calls.push({ ...fromLedger(rows[next]), note: "booked by the gateway, not in the trajectory" });
  return calls;
};

// The ledger rows of one evaluation (its task; when the task ran more than once, its time window).
AF.callsOf = function (detail, evaluation) {
  const ledger = detail.model_calls;
  if (!ledger) return null;
  const task = ledger.fields.indexOf("task_id"), start = ledger.fields.indexOf("started_at");
  let rows = ledger.rows.filter((row) => row[task] === evaluation.task_id);
  const runs = (detail.evaluations || []).filter((e) => e.task_id === evaluation.task_id);
  if (runs.length > 1 && evaluation.started_at) {
    const from = Date.parse(evaluation.started_at), to = evaluation.finished_at ? Date.parse(evaluation.finished_at) : Infinity;
    rows = rows.filter((row) => { const t = Date.parse(row[start]); return t >= from && t <= to; });
  }
  return { fields: ledger.fields, rows };
};

// The ledger rows of the node's implementation (booked to the parent under its improve task id).
AF.improveCallsOf = function (detail) {
  const ledger = detail.model_calls;
  if (!ledger || !ledger.improve_task_id) return null;
  const task = ledger.fields.indexOf("task_id");
  return { fields: ledger.fields, rows: ledger.rows.filter((row) => row[task] === ledger.improve_task_id) };
};
