// Building the page from untrusted text: every string becomes a text node, never HTML.
"use strict";
window.AF = window.AF || {};

// Attributes AF.el sets (never an event handler or a URL: links are made one by one).
AF.ATTRIBUTES = new Set(["title", "type", "value", "placeholder", "colspan", "size", "role", "tabindex",
  "id", "scope", "min", "max", "step", "for", "name"]);

AF.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (AF.ATTRIBUTES.has(key) || key.startsWith("data-") || key.startsWith("aria-")) {
      node.setAttribute(key, String(value));
    } else throw new Error("attribute not allowed: " + key);
  }
  AF.append(node, children);
  return node;
};

AF.append = function (node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

AF.clear = function (node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
};

AF.fmtScore = (s) => (s === null || s === undefined ? "–" : s.toFixed(2));
AF.fmtUsd = (v) => "$" + (v || 0).toFixed(v >= 1 ? 2 : 4);
AF.fmtInt = (v) => (v || 0).toLocaleString("en-US");
AF.fmtTime = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC") : "–");

// A block of preformatted text, folded when long.
AF.textBlock = function (text, cls, foldAt) {
  const value = text === null || text === undefined ? "" : String(text);
  const limit = foldAt || 4000;
  const pre = AF.el("pre", { class: cls || "text" });
  if (value.length <= limit) {
    pre.textContent = value;
    return pre;
  }
  pre.textContent = value.slice(0, limit);
  const more = AF.el("button", { class: "link", text: `show all ${AF.fmtInt(value.length)} characters` });
  more.addEventListener("click", () => { pre.textContent = value; more.remove(); });
  return AF.el("div", {}, pre, more);
};

// A unified diff, one line per element, coloured by its first character.
AF.diffView = function (diff, maxLines) {
  const box = AF.el("div", { class: "diff" });
  if (!diff) return AF.append(box, [AF.el("p", { class: "muted", text: "no diff" })]);
  const lines = diff.split("\n");
  const limit = maxLines || 2000;
  const render = (upto) => {
    AF.clear(box);
    for (const line of lines.slice(0, upto)) {
      let cls = "ctx";
      if (line.startsWith("diff --git") || line.startsWith("index ")) cls = "file";
      else if (line.startsWith("+++") || line.startsWith("---")) cls = "file";
      else if (line.startsWith("@@")) cls = "hunk";
      else if (line.startsWith("+")) cls = "add";
      else if (line.startsWith("-")) cls = "del";
      box.appendChild(AF.el("div", { class: "dl " + cls, text: line || " " }));
    }
    if (lines.length > upto) {
      box.appendChild(AF.el("button", { class: "link", text: `show all ${AF.fmtInt(lines.length)} lines`,
        onclick: () => render(lines.length) }));
    }
  };
  render(limit);
  return box;
};
