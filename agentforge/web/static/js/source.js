// Where the data comes from: the server's JSON routes, or the data inlined by `web export`.
"use strict";
window.AF = window.AF || {};

AF.source = (function () {
  const inline = document.getElementById("agentforge-data");
  if (inline) return AF.exportSource(JSON.parse(inline.textContent));
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
    // Ids of the nodes whose whole proposal or reason contains the text.
    search: async (run, text) => (await json(`${base(run)}/search?q=${encodeURIComponent(text)}`)).ids,
    matrix: (run, ids) => json(`${base(run)}/matrix?ids=${ids.map(Number).join(",")}`),
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
