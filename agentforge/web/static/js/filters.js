// The filters every view shares: status, operator, a score range and text. The tree dims
// what they leave out, the table hides it. Each control calls onChange synchronously (the
// views redraw in the same frame); the full-text part of the text filter arrives later.
"use strict";
window.AF = window.AF || {};

AF.Filters = class {
  constructor(bar, onChange, search) {
    this.onChange = onChange;
    this.search = search;  // async (text) -> ids whose whole proposal or reason contains it
    this.statuses = new Set(AF.STATUSES);
    this.operator = "";
    this.min = 0;
    this.max = 1;
    this.text = "";
    this.textIds = new Set();
    this.searchToken = 0;
    this.bar = bar;
    this.build();
  }

  // Whether a node summary passes every filter.
  matches(row) {
    if (!this.statuses.has(row.status)) return false;
    if (this.operator && (row.operator || "seed") !== this.operator) return false;
    if (this.min > 0 && (row.score === null || row.score < this.min)) return false;
    if (this.max < 1 && (row.score === null || row.score > this.max)) return false;
    if (this.text) {
      if (row._text === undefined) row._text = `${row.summary || ""} ${row.reason || ""}`.toLowerCase();
      if (!row._text.includes(this.text) && !this.textIds.has(row.id) && String(row.id) !== this.text) return false;
    }
    return true;
  }

  active() {
    return this.statuses.size !== AF.STATUSES.length || this.operator || this.min > 0 || this.max < 1 || this.text;
  }

  build() {
    const el = AF.el;
    const statuses = el("span", { id: "status-filters", class: "filter", role: "group", "aria-label": "Status" });
    for (const status of AF.STATUSES) {
      const box = el("input", { type: "checkbox", "data-status": status });
      box.checked = true;
      box.addEventListener("change", () => {
        if (box.checked) this.statuses.add(status); else this.statuses.delete(status);
        this.onChange();
      });
      statuses.appendChild(el("label", { class: "st-label st-" + status }, box, status));
    }
    this.operatorSelect = el("select", { id: "operator-filter", title: "Operator that made the node", "aria-label": "Operator" },
      el("option", { value: "", text: "any operator" }));
    this.operatorSelect.addEventListener("change", () => { this.operator = this.operatorSelect.value; this.onChange(); });
    const slider = (id, value, label) => {
      const input = el("input", { id, class: "slider", type: "range", min: 0, max: 1, step: 0.05, value, "aria-label": label });
      const shown = el("output", { id: id + "-value", for: id, text: value });
      input.addEventListener("input", () => {
        this[id === "min-score" ? "min" : "max"] = Number(input.value);
        shown.textContent = Number(input.value).toFixed(2);
        this.onChange();
      });
      return [input, shown];
    };
    this.textInput = el("input", { id: "text-filter", type: "search", size: 16, placeholder: "text in proposal, reason",
      "aria-label": "Text in the proposal or reason" });
    this.textInput.addEventListener("input", () => this.setText(this.textInput.value));
    this.count = el("span", { id: "filter-count", class: "muted", "aria-live": "polite" });
    AF.append(this.bar, [statuses,
      el("label", { class: "filter" }, "operator ", this.operatorSelect),
      el("span", { class: "filter", role: "group", "aria-label": "Validation score range" }, "score ",
        ...slider("min-score", 0, "Lowest validation score"), "–", ...slider("max-score", 1, "Highest validation score")),
      this.textInput, this.count]);
  }

  setText(value) {
    this.text = value.trim().toLowerCase();
    this.textIds = new Set();
    this.onChange();
    const token = ++this.searchToken;
    if (!this.text) return;
    clearTimeout(this.searchTimer);
    // The whole proposals live on the server (or in the export's details): ask after a pause.
    this.searchTimer = setTimeout(async () => {
      try {
        const ids = await this.search(this.text);
        if (token !== this.searchToken) return;
        this.textIds = new Set(ids);
        this.onChange();
      } catch (err) { /* the summaries' text still filters */ }
    }, 250);
  }

  // The operators present in the run, as choices (kept when the data changes).
  setOperators(rows) {
    const names = [...new Set(rows.map((r) => r.operator || "seed"))].sort();
    const have = [...this.operatorSelect.options].slice(1).map((o) => o.value);
    if (names.join() === have.join()) return;
    for (const option of [...this.operatorSelect.options].slice(1)) option.remove();
    for (const name of names) this.operatorSelect.appendChild(AF.el("option", { value: name, text: name }));
    this.operatorSelect.value = names.includes(this.operator) ? this.operator : "";
  }

  showCount(shown, total) {
    this.count.textContent = this.active() ? `${AF.fmtInt(shown)} of ${AF.fmtInt(total)} nodes` : `${AF.fmtInt(total)} nodes`;
  }
};
