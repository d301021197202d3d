// The node table: every node, sortable by any column, filtered like the tree, rows ticked for
// the compare matrix. Only the rows on screen are in the DOM (5,000 nodes sort and filter in a
// few milliseconds); the keyboard moves a cursor row (↑ ↓ PgUp PgDn Home End, Enter opens,
// Space ticks).
"use strict";
window.AF = window.AF || {};

const ROW_HEIGHT = 24;  // px; fixed, so the scroll position says which rows are on screen
const ROW_BUFFER = 4;
const MAX_TICK_ALL = 200;
const shortTime = (iso) => (iso ? iso.slice(5, 19).replace("T", " ") : "–");
const withCount = (score, tasks) => (score === null ? null : score + Math.min(tasks || 0, 99999) * 1e-9);
const heldResolved = (r) => (r.held_out_tasks ? Math.round(r.held_out_score * r.held_out_tasks) : 0);

AF.TABLE_COLUMNS = [
  { key: "id", width: 54, label: "id", num: true, value: (r) => r.id },
  { key: "parent_id", width: 56, label: "parent", num: true, value: (r) => r.parent_id, text: (r) => (r.parent_id === null ? "seed" : r.parent_id) },
  { key: "depth", width: 50, label: "depth", num: true, value: (r) => r.depth },
  { key: "operator", width: 112, label: "operator", value: (r) => r.operator, text: (r) => r.operator || "–" },
  { key: "status", width: 82, label: "status", value: (r) => r.status, text: (r) => AF.copyNote(r) || r.status },
  // Scores tie often: the one measured on more tasks sorts first (1.00 on 10 tasks before 1.00 on 1).
  { key: "score", width: 96, label: "validation", num: true, desc: true, value: (r) => withCount(r.score, r.tasks),
    text: (r) => (r.tasks ? `${AF.fmtScore(r.score)} · ${r.resolved}/${r.tasks}` : "–") },
  { key: "held_out_score", width: 90, label: "held-out", num: true, desc: true,
    value: (r) => withCount(r.held_out_score, r.held_out_tasks),
    text: (r) => (r.held_out_tasks ? `${AF.fmtScore(r.held_out_score)} · ${heldResolved(r)}/${r.held_out_tasks}` : "–") +
      (r.disagreements ? " ≠" : "") },
  { key: "cost_usd", width: 72, label: "cost", num: true, desc: true, value: (r) => r.cost_usd, text: (r) => AF.fmtUsd(r.cost_usd) },
  { key: "tokens", width: 84, label: "tokens", num: true, desc: true, value: (r) => (r.tokens === undefined ? null : r.tokens),
    text: (r) => (r.tokens === undefined ? "–" : AF.fmtInt(r.tokens)) },
  { key: "created_at", width: 108, label: "created", value: (r) => r.created_at, text: (r) => shortTime(r.created_at) },
  { key: "summary", width: 220, label: "proposal", wide: true, value: (r) => (r.summary || "").toLowerCase() || null, text: (r) => r.summary || "" },
  { key: "reason", width: 220, label: "reason", wide: true, value: (r) => (r.reason || "").toLowerCase() || null, text: (r) => r.reason || "" },
];

AF.NodeTable = class {
  constructor(container, handlers) {
    const el = AF.el;
    this.handlers = handlers;  // onSelect(id), onCompare(ids)
    this.container = container;
    this.rows = [];
    this.shown = [];
    this.sorted = [];
    this.checked = new Set();
    this.sort = { key: "id", dir: 1 };
    this.matches = () => true;
    this.selected = null;
    this.cursor = 0;
    this.count = el("span", { class: "muted table-count" });
    this.compareButton = el("button", { class: "compare-selected", text: "compare ticked (0)", onclick: () => this.compare() });
    this.clearButton = el("button", { class: "link", text: "clear ticks", onclick: () => { this.checked.clear(); this.render(); } });
    const widen = el("button", { class: "widen", "aria-pressed": "false", text: "wide table",
      title: "give the table most of the window (the tree keeps a strip)" });
    widen.addEventListener("click", () => {
      const wide = document.body.classList.toggle("wide-side");
      widen.setAttribute("aria-pressed", String(wide));
      this.render();
    });
    this.tickAll = el("input", { type: "checkbox", "aria-label": "Tick every row shown", title: "tick every row shown" });
    this.tickAll.addEventListener("change", () => this.tickShown(this.tickAll.checked));
    this.body = el("tbody");
    this.headers = new Map();
    const head = el("tr", { "aria-rowindex": 1 }, el("th", { scope: "col", class: "check" }, this.tickAll));
    for (const column of AF.TABLE_COLUMNS) {
      const button = el("button", { class: "sort", text: column.label, onclick: () => this.sortBy(column.key) });
      const th = el("th", { scope: "col", class: column.num ? "num" : column.wide ? "wide" : "", "data-key": column.key }, button);
      this.headers.set(column.key, th);
      head.appendChild(th);
    }
    // Fixed column widths: the browser lays out a table of fixed layout without reading its
    // rows (an automatic layout re-measures every row on each sort), and columns never jump.
    const columns = el("colgroup", {}, el("col", { class: "check" }));
    for (const column of AF.TABLE_COLUMNS) columns.appendChild(el("col")).style.width = `${column.width}px`;
    this.table = el("table", { class: "nodes", role: "grid", tabindex: 0, "aria-label": "Nodes of the run" },
      columns, el("thead", {}, head), this.body);
    this.table.addEventListener("keydown", (event) => this.onKey(event));
    this.table.addEventListener("click", (event) => this.onClick(event));
    this.scroller = el("div", { class: "table-scroll" }, this.table);
    this.scroller.addEventListener("scroll", () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = null; this.render(); });
    });
    AF.append(container, [el("div", { class: "table-tools" }, this.count, this.compareButton, this.clearButton, widen,
      el("span", { class: "muted", text: "click a row: select its node · tick rows: compare them task by task" })),
      this.scroller]);
  }

  setRows(rows) {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const r of rows) {  // depth, from the parents (each node once)
      let depth = 0, cursor = r;
      while (cursor && cursor.parent_id !== null && byId.has(cursor.parent_id)) {
        cursor = byId.get(cursor.parent_id);
        if (cursor.depth !== undefined) { depth += cursor.depth + 1; break; }
        depth += 1;
      }
      r.depth = depth;
    }
    this.rows = rows;
    this.byId = byId;
    for (const id of [...this.checked]) if (!byId.has(id)) this.checked.delete(id);
    this.resort();
  }

  sortBy(key, dir) {
    const column = AF.TABLE_COLUMNS.find((c) => c.key === key);
    if (!column) return;
    this.sort = { key, dir: dir || (this.sort.key === key ? -this.sort.dir : column.desc ? -1 : 1) };
    this.resort();
  }

  resort() {
    const column = AF.TABLE_COLUMNS.find((c) => c.key === this.sort.key);
    const dir = this.sort.dir;
    const keyed = this.rows.map((r) => [column.value(r), r]);
    keyed.sort((a, b) => {  // empty values last, whichever the direction
      const x = a[0], y = b[0];
      if (x === null || x === undefined) return y === null || y === undefined ? a[1].id - b[1].id : 1;
      if (y === null || y === undefined) return -1;
      if (x < y) return -dir;
      if (x > y) return dir;
      return a[1].id - b[1].id;
    });
    this.sorted = keyed.map((pair) => pair[1]);
    for (const [key, th] of this.headers) {
      th.setAttribute("aria-sort", key !== this.sort.key ? "none" : dir > 0 ? "ascending" : "descending");
    }
    this.refilter();
  }

  setFilter(matches) {
    this.matches = matches;
    this.refilter();
  }

  refilter() {
    const cursorId = this.shown[this.cursor] ? this.shown[this.cursor].id : this.selected;
    this.shown = this.sorted.filter(this.matches);
    const at = this.shown.findIndex((r) => r.id === cursorId);
    this.cursor = at >= 0 ? at : 0;
    this.table.setAttribute("aria-rowcount", String(this.shown.length + 1));
    this.render();
  }

  // The rows on screen (and a few around them), between two spacer rows of the right height.
  // Row elements are kept and refilled (only the cells whose text changed are touched), so a
  // filter step re-lays out a few cells rather than building the table body again.
  render() {
    // Hidden (its tab closed): drawn when the tab opens. Asked of the class, not of the size,
    // which would make the browser lay out the page (the tree's new classes too) right here.
    if (!this.container.classList.contains("active")) return;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - ROW_BUFFER);
    const last = Math.min(this.shown.length, first + Math.ceil(height / ROW_HEIGHT) + 2 * ROW_BUFFER);
    if (!this.top) {
      const spacer = () => AF.el("tr", { class: "spacer", "aria-hidden": "true" },
        AF.el("td", { colspan: AF.TABLE_COLUMNS.length + 1 }));
      [this.top, this.bottom, this.pool] = [spacer(), spacer(), []];
      AF.clear(this.body).append(this.top, this.bottom);
    }
    this.top.style.height = `${first * ROW_HEIGHT}px`;
    this.bottom.style.height = `${(this.shown.length - last) * ROW_HEIGHT}px`;
    while (this.pool.length < last - first) this.pool.push(this.rowElement());
    this.pool.forEach((tr, slot) => {
      const index = first + slot;
      if (index < last) {
        this.fill(tr, this.shown[index], index);
        if (!tr.isConnected) this.body.insertBefore(tr, this.bottom);
      } else if (tr.isConnected) tr.remove();
    });
    const current = this.shown[this.cursor];
    if (current) this.table.setAttribute("aria-activedescendant", "nr-" + current.id);
    else this.table.removeAttribute("aria-activedescendant");
    this.count.textContent = `${AF.fmtInt(this.shown.length)} of ${AF.fmtInt(this.rows.length)} nodes shown · ${this.checked.size} ticked`;
    this.compareButton.textContent = `compare ticked (${this.checked.size})`;
    this.compareButton.disabled = this.checked.size < 2;
    this.tickAll.disabled = this.shown.length > MAX_TICK_ALL;
    this.tickAll.checked = this.shown.length > 0 && this.shown.length <= MAX_TICK_ALL && this.shown.every((r) => this.checked.has(r.id));
  }

  rowElement() {
    const el = AF.el;
    const tr = el("tr", {}, el("td", { class: "check" }, el("input", { type: "checkbox", tabindex: -1 })));
    for (const column of AF.TABLE_COLUMNS) tr.appendChild(el("td", { class: column.num ? "num" : column.wide ? "wide" : "" }));
    return tr;
  }

  // Row `index` shows node summary `r`: its attributes, tick and cells.
  fill(tr, r, index) {
    const set = (node, name, value) => { if (node.getAttribute(name) !== value) node.setAttribute(name, value); };
    set(tr, "id", "nr-" + r.id);
    set(tr, "data-id", String(r.id));
    set(tr, "data-index", String(index));
    set(tr, "aria-rowindex", String(index + 2));
    set(tr, "aria-selected", String(r.id === this.selected));
    set(tr, "class", (r.id === this.selected ? "selected" : "") + (index === this.cursor ? " cursor" : ""));
    const box = tr.firstChild.firstChild;
    box.checked = this.checked.has(r.id);
    set(box, "aria-label", `tick node ${r.id} to compare`);
    AF.TABLE_COLUMNS.forEach((column, i) => {
      const td = tr.children[i + 1];
      const value = column.text ? column.text(r) : column.value(r);
      const text = value === null || value === undefined ? "–" : String(value);
      if (td.textContent !== text) td.textContent = text;
      if (column.wide) set(td, "title", text);
      if (column.key === "status") set(td, "class", "st-" + r.status + (AF.copyNote(r) ? " copy" : ""));
    });
  }

  onClick(event) {
    const tr = event.target.closest("tr[data-id]");
    if (!tr) return;
    const id = Number(tr.getAttribute("data-id"));
    this.cursor = Number(tr.getAttribute("data-index"));
    if (event.target.matches("input[type=checkbox]")) {
      this.tick(id, event.target.checked, event.shiftKey);
      return;
    }
    this.handlers.onSelect(id);
  }

  tick(id, on, range) {
    const at = this.shown.findIndex((r) => r.id === id);
    const ids = range && this.lastTicked !== undefined ? this.between(this.lastTicked, at) : [id];
    for (const each of ids) if (on) this.checked.add(each); else this.checked.delete(each);
    this.lastTicked = at;
    this.render();
  }

  between(a, b) {
    const [from, to] = a < b ? [a, b] : [b, a];
    return this.shown.slice(Math.max(0, from), to + 1).map((r) => r.id);
  }

  tickShown(on) {
    if (this.shown.length > MAX_TICK_ALL) return;
    for (const r of this.shown) if (on) this.checked.add(r.id); else this.checked.delete(r.id);
    this.render();
  }

  compare() {
    const ids = [...this.checked].filter((id) => this.byId.has(id));
    if (ids.length >= 2) this.handlers.onCompare(ids);
  }

  onKey(event) {
    const page = Math.max(1, Math.floor((this.scroller.clientHeight || 600) / ROW_HEIGHT) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
    const current = this.shown[this.cursor];
    if (event.key in moves) {
      event.preventDefault();
      this.cursor = Math.max(0, Math.min(this.shown.length - 1, this.cursor + moves[event.key]));
      this.reveal(this.cursor);
    } else if (event.key === "Enter" && current) {
      event.preventDefault();
      this.handlers.onSelect(current.id);
    } else if (event.key === " " && current) {
      event.preventDefault();
      this.tick(current.id, !this.checked.has(current.id), event.shiftKey);
    }
  }

  // Scroll so that row `index` is on screen, then draw.
  reveal(index) {
    const top = index * ROW_HEIGHT, header = this.table.tHead ? this.table.tHead.offsetHeight : 0;
    const view = this.scroller.clientHeight - header;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_HEIGHT > this.scroller.scrollTop + view) this.scroller.scrollTop = top + ROW_HEIGHT - view;
    this.render();
  }

  // The node selected elsewhere (the tree, a link): its row is marked and brought on screen.
  select(id) {
    this.selected = id;
    const at = this.shown.findIndex((r) => r.id === id);
    if (at >= 0) this.cursor = at;
    if (at >= 0 && this.container.classList.contains("active")) this.reveal(at);
    else this.render();
  }
};
