// perf/web_view.py: user actions on the open page, each timed from the event to the next frame.
async (kind) => {
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const timed = async (action) => { const t0 = performance.now(); action(); await frame();
                                    return performance.now() - t0; };
  const out = {};
  const input = (el, value) => { el.value = value; el.dispatchEvent(new Event("input")); };
  const change = (el) => el.dispatchEvent(new Event("change"));
  if (kind === "table") {
    document.querySelector("#tabs button[data-tab='table']").click();
    await frame();
    out.sort = [];
    for (const button of document.querySelectorAll("table.nodes th button.sort")) {
      out.sort.push(await timed(() => button.click()));
      out.sort.push(await timed(() => button.click()));  // and the other way round
    }
    const invalid = document.querySelector("input[data-status='invalid']");
    out.filter = [];
    for (let i = 0; i < 4; i++) {
      out.filter.push(await timed(() => { invalid.checked = !invalid.checked; change(invalid); }));
    }
    const operator = document.querySelector("#operator-filter");
    for (const option of [...operator.options, operator.options[0]]) {
      out.filter.push(await timed(() => { operator.value = option.value; change(operator); }));
    }
    const text = document.querySelector("#text-filter");
    for (const value of ["t", "ti", "tig", "tigh", "change 4", ""]) out.filter.push(await timed(() => input(text, value)));
    out.shown = document.querySelectorAll("table.nodes tbody tr[data-id]").length;
  } else {
    document.querySelector(`#view-modes button[data-mode='${kind}']`).click();
    await frame();
    const slider = document.querySelector("#min-score");
    out.slider = [];
    for (let step = 1; step <= 19; step++) out.slider.push(await timed(() => input(slider, (step * 0.05).toFixed(2))));
    for (let step = 18; step >= 0; step--) out.slider.push(await timed(() => input(slider, (step * 0.05).toFixed(2))));
  }
  return out;
}
