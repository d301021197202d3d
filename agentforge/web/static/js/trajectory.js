// A trajectory.json read as a conversation: its model calls on a timeline (with the ledger's
// rows of the same calls), meta-reasoning choice, consultations, each thread.
"use strict";
window.AF = window.AF || {};

AF.trajectoryView = function (raw, ledger) {
  const el = AF.el;
  let data;
  try { data = typeof raw === "string" ? JSON.parse(raw) : raw; } catch (e) {
    return el("div", {}, el("p", { class: "muted", text: "not JSON; shown as text" }), AF.textBlock(raw));
  }
  if (!data || typeof data !== "object") return AF.textBlock(String(raw));
  const box = el("div", { class: "trajectory" });
  const usage = data.usage || {};
  box.appendChild(el("p", { class: "meta" },
    `agent ${data.agent || "?"} · model ${data.model || "?"} · strategy ${data.strategy || "–"}` +
    ` · approach ${data.approach || "–"} · ${data.exit_status || "?"} (${data.stop_reason || "–"})` +
    ` · ${AF.fmtInt(usage.total_tokens)} tokens in ${AF.fmtInt(usage.calls)} calls · ${AF.fmtUsd(data.cost)}`));
  if (data.summary) box.appendChild(el("p", {}, el("b", { text: "Summary: " }), String(data.summary)));
  if (data.error) box.appendChild(el("p", { class: "bad" }, "Error: " + String(data.error)));
  box.appendChild(AF.callTimeline(ledger, data.model_calls));
  const decisions = Array.isArray(data.decisions) ? data.decisions : [];
  const ranking = decisions.filter((d) => d && d.kind === "approach_ranking");
  const choices = decisions.filter((d) => d && d.kind === "approach_choice");
  if (ranking.length || choices.length) {
    const section = el("div", { class: "decision" }, el("h4", { text: "Meta-reasoning" }));
    for (const d of ranking) {
      section.appendChild(el("p", {}, "ranked: " + (d.ranking || []).map(String).join(" > ") +
        (d.fallback_to_config_order ? " (the model gave no ranking: config order)" : " (by the model)")));
    }
    for (const d of choices) {
      section.appendChild(el("p", {}, el("b", { text: "chose " + String(d.chosen) }),
        ` (runner ${String(d.runner || "–")})`));
    }
    box.appendChild(section);
  }
  const consultations = decisions.filter((d) => d && d.kind === "consultation");
  if (consultations.length) {
    const section = el("div", { class: "decision" }, el("h4", { text: "Meta-prompting consultations" }));
    for (const d of consultations) {
      section.appendChild(el("div", { class: "consultation" },
        el("p", { class: "meta", text: `round ${d.round} · expert ${String(d.expert)}` }),
        el("p", {}, el("b", { text: "asked: " }), String(d.instruction || "")),
        AF.textBlock(d.answer, "text answer", 2000)));
    }
    box.appendChild(section);
  }
  const threads = data.messages && typeof data.messages === "object" ? data.messages : {};
  for (const [thread, messages] of Object.entries(threads)) {
    if (!Array.isArray(messages)) continue;
    const section = el("details", { class: "thread" });
    section.open = Object.keys(threads).length <= 2;
    section.appendChild(el("summary", { text: `thread "${thread}" · ${messages.length} messages` }));
    for (const message of messages) section.appendChild(AF.messageView(message));
    box.appendChild(section);
  }
  const tools = Array.isArray(data.tool_calls) ? data.tool_calls : [];
  if (tools.length) {
    const section = el("details", { class: "thread" },
      el("summary", { text: `${tools.length} tool calls and their results` }));
    for (const call of tools) {
      section.appendChild(el("div", { class: "msg tool" },
        el("div", { class: "role", text: `${call.thread || ""} · ${call.name} ${call.ok === false ? "(failed)" : ""}` }),
        AF.textBlock(AF.prettyArgs(call.arguments), "text args", 1500),
        AF.textBlock(call.output, "text", 3000)));
    }
    box.appendChild(section);
  }
  return box;
};

AF.messageView = function (message) {
  const el = AF.el;
  if (!message || typeof message !== "object") return AF.textBlock(String(message));
  const role = String(message.role || "?");
  const box = el("div", { class: "msg role-" + role.replace(/[^a-z]/g, "") },
    el("div", { class: "role", text: role + (message.name ? " · " + message.name : "") }));
  let content = message.content;
  if (Array.isArray(content)) content = content.map((part) => (part && part.text) || "").join("\n");
  if (content) box.appendChild(AF.textBlock(content, "text", role === "system" ? 1200 : 5000));
  for (const call of message.tool_calls || []) {
    const fn = (call && call.function) || {};
    box.appendChild(el("div", { class: "toolcall" },
      el("span", { class: "tag", text: "tool call " + String(fn.name || "?") }),
      AF.textBlock(AF.prettyArgs(fn.arguments), "text args", 2000)));
  }
  return box;
};

AF.prettyArgs = function (args) {
  if (typeof args !== "string") return JSON.stringify(args, null, 1);
  try { return JSON.stringify(JSON.parse(args), null, 1); } catch (e) { return args; }
};
