// perf/web_view.py: one kind of user action on the open page, each action timed from its
// event to the next frame. Returns {times: [ms per action], baseline: [ms of empty actions]}.
async (kind) => {
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const timed = async (action) => {
    const t0 = performance.now();
    action();
    await frame();
    return performance.now() - t0;
  };
  const input = (el, value) => { el.value = value; el.dispatchEvent(new Event("input")); };
  const change = (el) => el.dispatchEvent(new Event("change"));
  const baseline = [];
  for (let i = 0; i < 10; i++) baseline.push(await timed(() => {}));
  const actions = [];
  if (kind === "sort") {
    for (const button of document.querySelectorAll("table.nodes th button.sort")) {
      actions.push(() => button.click(), () => button.click());  // each way round
    }
  } else if (kind === "filter") {
    const invalid = document.querySelector("input[data-status='invalid']");
    for (let i = 0; i < 4; i++) actions.push(() => { invalid.checked = !invalid.checked; change(invalid); });
    const operator = document.querySelector("#operator-filter");
    for (const option of [...operator.options, operator.options[0]]) {
      actions.push(() => { operator.value = option.value; change(operator); });
    }
    const text = document.querySelector("#text-filter");
    for (const value of ["t", "ti", "tig", "tigh", "change 4", ""]) actions.push(() => input(text, value));
  } else {  // the min-score slider, up and down its range
    const slider = document.querySelector("#min-score");
    for (let step = 1; step <= 19; step++) actions.push(() => input(slider, (step * 0.05).toFixed(2)));
    for (let step = 18; step >= 0; step--) actions.push(() => input(slider, (step * 0.05).toFixed(2)));
  }
  const times = [];
  for (const action of actions) times.push(await timed(action));
  return { times, baseline };
}
