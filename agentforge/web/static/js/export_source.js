// The data of a static export (`agentforge web export`): what the live routes answer, from the file.
"use strict";
window.AF = window.AF || {};

AF.exportSource = function (data) {
  const detail = (id) => {
    const found = data.details[String(id)];
    if (!found) throw new Error(`node ${id} is not in this export`);
    return found;
  };
  let texts = null;  // id -> lower-cased proposal and reason, built on the first search
  const searchable = () => {
    if (texts) return texts;
    texts = Object.values(data.details).map((d) => [d.id,
      [d.reason || "", ...AF.stringsOf(d.proposal)].join(" ").toLowerCase()]);
    return texts;
  };
  return {
    live: false,
    runs: async () => data.runs,
    summary: async () => data.summary,
    nodes: async () => data.nodes,
    node: async (run, id) => detail(id),
    // The export holds each node's diff against its parent: a parent and its child can be
    // compared either way; any other pair needs the live server.
    diff: async (run, a, b) => {
      const first = detail(a), second = detail(b);
      if (second.parent_id === first.id) return { a, b, diff: second.diff || "" };
      if (first.parent_id === second.id) return { a, b, diff: AF.reverseDiff(first.diff || ""), reversed: true };
      throw new Error("this export holds the diff of each node against its parent: compare a node with its " +
        "parent or a child here, any two nodes with the live server (agentforge web)");
    },
    search: async (run, text) => {
      const wanted = text.trim().toLowerCase();
      return wanted ? searchable().filter(([, hay]) => hay.includes(wanted)).map(([id]) => id) : [];
    },
    matrix: async (run, ids) => {
      const rows = [];
      for (const id of ids) {
        for (const e of detail(id).evaluations || []) {
          if (e.finished) rows.push([id, e.split, e.task_id, e.attempt || 0, Boolean(e.resolved)]);
        }
      }
      return { ids, fields: ["node_id", "split", "task_id", "attempt", "resolved"], rows };
    },
    file: async (run, path) => {
      if (!(path in data.files)) throw new Error("this file is not in the export");
      return data.files[path];
    },
    fileUrl: () => null,
    version: async () => null,
    runName: data.runs[0].name,
  };
};

// Every string inside a JSON value (a proposal's texts, for the search).
AF.stringsOf = function (value) {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(AF.stringsOf);
  if (value && typeof value === "object") return Object.values(value).flatMap(AF.stringsOf);
  return [];
};

// A unified diff the other way round: old and new swap, added lines become removed ones.
AF.reverseDiff = function (diff) {
  return diff.split("\n").map((line) => {
    if (line.startsWith("diff --git ")) {
      const parts = line.slice(11).split(" b/");
      return parts.length === 2 ? `diff --git a/${parts[1]} b/${parts[0].replace(/^a\//, "")}` : line;
    }
    if (line.startsWith("--- ")) return "+++ " + line.slice(4).replace(/^a\//, "b/");
    if (line.startsWith("+++ ")) return "--- " + line.slice(4).replace(/^b\//, "a/");
    if (line.startsWith("@@")) return line.replace(/^@@ -(\S+) \+(\S+) @@/, "@@ -$2 +$1 @@");
    if (line.startsWith("new file mode")) return line.replace("new file mode", "deleted file mode");
    if (line.startsWith("deleted file mode")) return line.replace("deleted file mode", "new file mode");
    if (line.startsWith("index ")) return line.replace(/^index (\w+)\.\.(\w+)/, "index $2..$1");
    if (line.startsWith("+")) return "-" + line.slice(1);
    if (line.startsWith("-")) return "+" + line.slice(1);
    return line;
  }).join("\n");
};
