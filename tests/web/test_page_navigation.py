"""History and links, keyboard and screen readers, layout, charts, the call timeline and the
static export's compare, in Chromium."""

from __future__ import annotations

import re

import pytest
from web_server import TIMEOUT, node_rows, open_page, wait_until

pytestmark = [pytest.mark.browser]


def _panel(page, node_id):
    page.locator(f".node-panel[data-node='{node_id}']").wait_for(timeout=TIMEOUT)
    page.locator(f"path.node.selected[data-id='{node_id}']").wait_for(timeout=TIMEOUT)
    assert re.search(rf"node={node_id}(&|$)", page.url)


def _three(client) -> list[int]:
    return [n["id"] for n in node_rows(client, "hostile") if n["status"] == "evaluated"][1:4]


def _back_and_forward(page, a, b, c):
    for node_id in (a, b, c):
        page.click(f"path.node[data-id='{node_id}']")
        _panel(page, node_id)
    page.go_back()
    _panel(page, b)
    page.go_back()
    _panel(page, a)
    page.go_forward()
    _panel(page, b)
    page.click(f"path.node[data-id='{c}']", modifiers=["Shift"])  # a comparison is an entry too
    page.locator(f".compare[data-a='{b}'][data-b='{c}']").wait_for(timeout=TIMEOUT)
    page.go_back()
    _panel(page, b)


def test_back_and_forward_move_between_nodes_and_a_link_opens_one(page, live_server, client):
    a, b, c = _three(client)
    open_page(page, live_server.url)
    _back_and_forward(page, a, b, c)
    link = page.get_by_text("link to this node").get_attribute("href")
    assert link.startswith(live_server.url) and link.endswith(f"node={b}")
    other = page.context.new_page()
    open_page(other, link)
    _panel(other, b)
    assert not page.errors


def test_history_and_links_in_the_static_export(page, hostile_run, client, tmp_path):
    from agentforge.web.export import export_html

    out = tmp_path / "run.html"
    out.write_text(export_html(hostile_run.path), encoding="utf-8")
    a, b, c = _three(client)
    open_page(page, out.as_uri())
    _back_and_forward(page, a, b, c)
    open_page(page, out.as_uri() + f"#run=hostile&node={c}")
    _panel(page, c)
    assert not page.errors


def test_the_keyboard_reaches_everything_with_a_visible_focus(page, live_server, client):
    open_page(page, live_server.url)
    reached, rings = [], set()
    for _ in range(80):  # Tab through the page, keyboard only, until the table has the focus
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            const s = getComputedStyle(e);
            return [e.id || e.className || e.tagName, s.outlineStyle, s.boxShadow]; }""")
        reached.append(focused[0])
        rings.add(focused[1] != "none" or focused[2] != "none")
        if focused[0] == "tab-button-node":
            page.keyboard.press("ArrowRight")  # the tab list: → opens the Table tab
            assert page.locator("#tab-table.active").count() == 1
        if focused[0] == "nodes":
            break
    assert "tree" in reached and reached[-1] == "nodes", reached
    assert rings == {True}  # every stop showed a focus ring
    first = page.get_attribute("table.nodes", "aria-activedescendant")
    page.keyboard.press("ArrowDown")
    second = page.get_attribute("table.nodes", "aria-activedescendant")
    assert second != first
    page.keyboard.press("Enter")  # opens that row's node in the tree
    node_id = second.removeprefix("nr-")
    page.locator(f"path.node.selected[data-id='{node_id}']").wait_for(timeout=TIMEOUT)
    page.keyboard.press(" ")
    assert "1 ticked" in page.locator(".table-count").inner_text()
    assert not page.errors


def test_the_tree_is_a_tree_for_screen_readers(page, live_server, client):
    nodes = node_rows(client, "hostile")
    open_page(page, live_server.url)
    assert page.get_attribute("#tree", "role") == "tree"
    assert page.get_by_role("treeitem").count() == len(nodes)
    scored = next(n for n in nodes if n["status"] == "evaluated" and n["tasks"])
    name = (f"node {scored['id']}, evaluated, validation {scored['score']:.2f} "
            f"on {scored['tasks']} tasks")
    item = page.get_by_role("treeitem", name=re.compile("^" + re.escape(name)))
    assert item.count() == 1
    item.click()
    assert page.get_attribute("#tree", "aria-activedescendant") == f"tn-{scored['id']}"
    assert page.get_attribute(f"#tn-{scored['id']}", "aria-selected") == "true"
    assert scored["id"] and str(scored["id"]) in page.locator("#announce").inner_text()
    assert not page.errors


def _box(page, selector):
    return page.locator(selector).bounding_box()


def _overlap(a, b) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_legend_and_help_stay_off_the_tree_and_never_overlap(page, live_server):
    open_page(page, live_server.url)
    tree = _box(page, "#tree")
    for outside in ("#legend", "#tree-help", "#bar", "#filters"):
        assert not _overlap(_box(page, outside), tree), outside
    items = page.eval_on_selector_all("svg.legend > path, svg.legend > text, svg.legend > rect",
                                      "els => els.map(e => { const b = e.getBoundingClientRect();"
                                      " return {x: b.x, y: b.y, width: b.width, height: b.height};"
                                      " })")
    for first, second in zip(items, items[1:], strict=False):
        assert not _overlap(first, second), (first, second)  # "pending" no longer runs into ✕


def test_the_progress_chart_is_readable_at_800_px(browser, tmp_path):
    from web_server import LiveServer

    from agentforge.web.synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "small", 4, files_for=0, in_flight=0)  # 0..3: few ticks
    server = LiveServer([run.path])
    page = browser.new_page(viewport={"width": 800, "height": 700})
    try:
        open_page(page, server.url)
        page.click("#tabs button[data-tab='progress']")
        ticks = page.locator(".scores-chart .x-axis .tick text").all_text_contents()
        assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), ticks
        heights = page.eval_on_selector_all(
            ".progress svg text", "els => els.map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 10, min(heights)  # px on screen, for every label
        assert page.locator(".spend-iteration-chart rect").count() > 5
        operators = page.locator("table.operators tbody tr").all_inner_texts()
        assert {line.split()[0] for line in operators} == {"self_edit", "prompt_mutation", "seed"}
    finally:
        page.close()
        server.stop()


def test_a_trajectory_shows_its_model_calls_on_a_timeline(page, live_server, hostile_run):
    from agentforge.web.synthetic import CALLS

    open_page(page, live_server.url + f"#node={hostile_run.hostile_node}")
    panel = page.locator(f".node-panel[data-node='{hostile_run.hostile_node}']")
    panel.wait_for(timeout=TIMEOUT)
    panel.locator("table.tasks tbody tr", has_text="py-task-00").first.get_by_text(
        "trajectory").click()
    timeline = page.locator(".trajectory .timeline").first
    timeline.wait_for(timeout=TIMEOUT)
    calls = timeline.locator("tr.call")
    assert calls.count() == len(CALLS)
    assert timeline.locator("tr.from-both").count() == len(CALLS)  # ledger and agent agree
    first = calls.first.inner_text()
    assert "1.40 s" in first and "2,000" in first and "350" in first and "conductor" in first
    total = sum(seconds for _, _, seconds, _ in CALLS)
    assert f"{total:.2f} s" in timeline.locator("tr.totals").inner_text()
    assert "3 calls" in timeline.locator(".timeline-totals").inner_text()
    panel.get_by_text("show how the parent implemented it").click()
    implemented = panel.locator(".improve-trajectory .timeline tr.call")
    implemented.first.wait_for(timeout=TIMEOUT)
    assert implemented.count() == len(CALLS)
    assert not page.errors


def test_the_exports_compare_shows_the_diff_it_holds(page, hostile_run, client, tmp_path):
    from agentforge.web.export import export_html

    out = tmp_path / "run.html"
    out.write_text(export_html(hostile_run.path), encoding="utf-8")
    child = next(n for n in node_rows(client, "hostile")
                 if n["status"] == "evaluated" and n["parent_id"] is not None)
    parent = child["parent_id"]
    open_page(page, out.as_uri() + f"#run=hostile&compare={parent},{child['id']}")
    view = page.locator(f".compare[data-a='{parent}'][data-b='{child['id']}']")
    view.wait_for(timeout=TIMEOUT)
    assert view.locator(".diff .dl.add").count() >= 1
    assert f"+Rule {child['id'] - 1}: run the tests." in view.locator(".diff").inner_text()
    open_page(page, out.as_uri() + f"#run=hostile&compare={child['id']},{parent}")
    back = page.locator(f".compare[data-a='{child['id']}'][data-b='{parent}']")
    back.wait_for(timeout=TIMEOUT)  # the same change, read backwards
    assert f"-Rule {child['id'] - 1}: run the tests." in back.locator(".diff").inner_text()
    cousin = next(n["id"] for n in node_rows(client, "hostile")  # neither parent nor child
                  if n["id"] not in (parent, child["id"]) and n["parent_id"] != child["id"])
    open_page(page, out.as_uri() + f"#run=hostile&compare={child['id']},{cousin}")
    wait_until(page, "document.querySelector('.compare .diff-missing')")
    assert "live server" in page.locator(".compare .diff-missing").inner_text()
    assert not page.errors
