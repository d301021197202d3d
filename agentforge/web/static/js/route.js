// The page's address names what is shown: `#run=NAME&node=ID` or `#run=NAME&compare=ID,ID,…`.
// Choosing a node or a comparison adds a history entry, so Back and Forward move between them,
// and a copied address opens the page on the same view (live or in an export).
"use strict";
window.AF = window.AF || {};

AF.route = {
  read() {
    const params = new URLSearchParams(location.hash.slice(1));
    const number = (text) => (/^\d+$/.test(text || "") ? Number(text) : null);
    const compare = (params.get("compare") || "").split(",").map(number).filter((id) => id !== null);
    return { run: params.get("run"), node: number(params.get("node")), compare: compare.length >= 2 ? compare : null };
  },

  hash(view) {
    const params = new URLSearchParams();
    if (view.run) params.set("run", view.run);
    if (view.compare) params.set("compare", view.compare.join(","));
    else if (view.node !== null && view.node !== undefined) params.set("node", String(view.node));
    return "#" + params.toString().replace(/%2C/g, ",");
  },

  // Show `view` in the address: a new history entry, or (replace) the current one changed.
  go(view, replace) {
    const hash = AF.route.hash(view);
    if (hash === location.hash) return false;
    if (replace) history.replaceState(null, "", hash);
    else location.hash = hash;  // a history entry; its hashchange finds the view already shown
    return true;
  },

  // The address of a view, to open elsewhere (this page's address with another hash).
  url(view) {
    return location.href.split("#")[0] + AF.route.hash(view);
  },
};

// A link to a view of this page (the address is ours, never text from the run).
AF.pageLink = function (view, label) {
  const link = AF.el("a", { class: "page-link", text: label });
  link.href = AF.route.url(view);
  return link;
};
