// Where the data comes from: the server's JSON routes, or the data inlined by `web export`.
"use strict";
window.AF = window.AF || {};

AF.source = (function () {
  const inline = document.getElementById("agentforge-data");
  if (inline) {
    const data = JSON.parse(inline.textContent);
    const runName = data.runs[0].name;
    return {
      live: false,
      runs: async () => data.runs,
      summary: async () => data.summary,
      nodes: async () => data.nodes,
      node: async (run, id) => {
        const detail = data.details[String(id)];
        if (!detail) throw new Error(`node ${id} is not in this export`);
        return detail;
      },
      diff: async () => { throw new Error("a diff between any two nodes needs the live server (agentforge web)"); },
      file: async (run, path) => {
        if (!(path in data.files)) throw new Error("this file is not in the export");
        return data.files[path];
      },
      fileUrl: () => null,
      version: async () => null,
      runName,
    };
  }
  const base = (run) => "/api/runs/" + encodeURIComponent(run);
  const json = async (url) => {
    const answer = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    if (!answer.ok) {
      let message = answer.status + " " + answer.statusText;
      try { message = (await answer.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return answer.json();
  };
  let etag = null;
  return {
    live: true,
    runs: () => json("/api/runs"),
    summary: (run) => json(base(run)),
    nodes: (run) => json(base(run) + "/nodes"),
    node: (run, id) => json(base(run) + "/nodes/" + encodeURIComponent(id)),
    diff: (run, a, b) => json(`${base(run)}/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`),
    file: async (run, path) => {
      const answer = await fetch(AF.source.fileUrl(run, path), { cache: "no-store" });
      if (!answer.ok) throw new Error("file not available (" + answer.status + ")");
      return answer.text();
    },
    fileUrl: (run, path) => base(run) + "/files/" + path.split("/").map(encodeURIComponent).join("/"),
    // The change feed: a conditional GET; null when nothing changed since the last call.
    version: async (run) => {
      const headers = etag ? { "If-None-Match": etag } : {};
      const answer = await fetch(base(run) + "/version", { cache: "no-store", headers });
      if (answer.status === 304) return null;
      if (!answer.ok) throw new Error("feed " + answer.status);
      etag = answer.headers.get("ETag");
      return (await answer.json()).version;
    },
    resetVersion: () => { etag = null; },
  };
})();
