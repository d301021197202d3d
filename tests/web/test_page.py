"""The page in Debian's Chromium: tree, node panel, filters, find, keyboard, compare, live."""

from __future__ import annotations

import pytest
from web_server import TIMEOUT
from web_server import open_page as _open

from agentforge.web.synthetic import HOSTILE

pytestmark = [pytest.mark.browser]


def _not_pwned(page):
    assert page.evaluate("window.__pwned") is None
    # No element an agent's text could have created: ours never make img/iframe/object.
    assert page.locator("#side img, #side iframe, #side object, #side embed").count() == 0


def _evaluated(client, skip=1):
    body = client.get("/api/runs/hostile/nodes").json()
    rows = [dict(zip(body["fields"], row, strict=True)) for row in body["rows"]]
    return [r["id"] for r in rows if r["status"] == "evaluated" and r["tasks"]][skip:]


def test_the_tree_shows_every_node_and_a_click_opens_its_diff_and_tasks(
        page, live_server, hostile_run, client, tmp_path):
    _open(page, live_server.url)
    assert page.locator("path.node").count() == len(hostile_run.node_ids)
    assert page.locator("path.node.best").count() >= 2
    assert page.locator("path.lineage").get_attribute("d")
    third = _evaluated(client)[1]
    page.click(f"path.node[data-id='{third}']")
    panel = page.locator(f".node-panel[data-node='{third}']")
    panel.wait_for(timeout=TIMEOUT)
    assert panel.locator(".diff .dl.add").count() >= 1
    assert panel.locator("table.tasks tbody tr.ok, table.tasks tbody tr.ko").count() >= 1
    page.screenshot(path=str(tmp_path / "node.png"))
    assert not page.errors


def test_injection_payloads_are_shown_as_text_and_never_run(page, live_server, hostile_run):
    _open(page, live_server.url + f"#node={hostile_run.hostile_node}")
    panel = page.locator(f".node-panel[data-node='{hostile_run.hostile_node}']")
    panel.wait_for(timeout=TIMEOUT)
    text = panel.inner_text()
    assert "<script>window.__pwned=1</script>" in text  # proposal and diff, as text
    assert "onerror" in panel.locator(".diff").inner_text()
    assert "<script>window.__pwned=1</script>" in panel.locator(".warn").inner_text()  # warning
    assert hostile_run.hostile_task in text  # the task id
    row = panel.locator("table.tasks tbody tr", has_text="py-task-00").first
    row.get_by_text("trajectory").click()
    page.locator(".trajectory").first.wait_for(timeout=TIMEOUT)
    conversation = page.locator(".trajectory").first.inner_text()
    assert "Meta-prompting consultations" in conversation and "chose meta-prompting" in conversation
    assert "<img src=x" in conversation
    row.get_by_text("test output").click()
    panel.get_by_text("show how the parent implemented it").click()
    implemented = panel.locator(".improve-trajectory .trajectory")
    implemented.wait_for(timeout=TIMEOUT)
    assert "Fixed the proposal." in implemented.inner_text()
    page.hover(f"path.node[data-id='{hostile_run.hostile_node}']")
    assert "<svg onload=window.__pwned=1>" in page.locator(".tip").inner_text()  # tooltip
    page.wait_for_timeout(300)
    _not_pwned(page)
    assert page.locator("#tree-pane img, #tree-pane iframe").count() == 0
    assert not page.errors


def test_filters_find_and_keyboard(page, live_server, hostile_run):
    _open(page, live_server.url)
    invalid = page.locator("path.node.st-invalid")
    assert invalid.count() >= 1 and page.locator("path.node.st-invalid.dim").count() == 0
    page.uncheck("input[data-status='invalid']")
    assert page.locator("path.node.st-invalid.dim").count() == invalid.count()
    page.check("input[data-status='invalid']")
    page.locator("#min-score").fill("0.5")
    dimmed = page.locator("path.node.dim").count()
    assert 0 < dimmed < len(hostile_run.node_ids)
    page.locator("#min-score").fill("0")
    seed = hostile_run.node_ids[0]
    page.dblclick(f"path.node[data-id='{seed}']")  # fold the whole tree under the seed
    assert page.locator("path.node").count() == 1
    page.dblclick(f"path.node[data-id='{seed}']")
    assert page.locator("path.node").count() == len(hostile_run.node_ids)
    target = hostile_run.node_ids[3]
    page.fill("#find", str(target))
    page.press("#find", "Enter")
    page.locator(f".node-panel[data-node='{target}']").wait_for(timeout=TIMEOUT)
    page.locator("#tree").focus()
    page.keyboard.press("ArrowUp")
    parent = page.evaluate(
        f"document.querySelector(\"path.node[data-id='{target}']\").__data__.parent_id")
    page.locator(f".node-panel[data-node='{parent}']").wait_for(timeout=TIMEOUT)
    page.keyboard.press("ArrowDown")
    page.wait_for_selector(f".node-panel:not([data-node='{parent}'])", timeout=TIMEOUT)
    assert not page.errors


def test_a_clicked_node_stays_under_the_pointer_so_a_double_click_folds_it(
        page, live_server, hostile_run):
    # The seed is drawn at the tree's left edge, where centring a selected node would move it:
    # the second click of a double-click then lands on the empty canvas and nothing folds.
    _open(page, live_server.url)
    seed = page.locator(f"path.node[data-id='{hostile_run.node_ids[0]}']")
    before = seed.bounding_box()
    seed.click()
    page.locator(f"path.node.selected[data-id='{hostile_run.node_ids[0]}']").wait_for(timeout=TIMEOUT)
    page.wait_for_timeout(600)  # longer than the tree's 250 ms centring transition
    after = seed.bounding_box()
    centre = (before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    assert abs(after["x"] + after["width"] / 2 - centre[0]) < 1
    assert abs(after["y"] + after["height"] / 2 - centre[1]) < 1
    seed.dblclick()
    assert page.locator("path.node").count() == 1
    assert not page.errors


def test_compare_two_nodes_shows_their_diff_and_tasks(page, live_server, hostile_run, client):
    a, b = hostile_run.node_ids[0], _evaluated(client)[2]
    _open(page, live_server.url + f"#node={a}")
    page.locator(f".node-panel[data-node='{a}']").wait_for(timeout=TIMEOUT)
    page.get_by_text("compare with…").click()
    page.click(f"path.node[data-id='{b}']")
    view = page.locator(f".compare[data-a='{a}'][data-b='{b}']")
    view.wait_for(timeout=TIMEOUT)
    assert view.locator(".diff .dl.add").count() >= 1
    assert view.locator("table.compare-tasks tbody tr").count() >= 1
    page.click("#tabs button[data-tab='progress']")
    assert page.locator(".scores-chart circle").count() >= 3
    assert page.locator(".spend-chart path.spend-line").count() == 1
    assert not page.errors


def test_a_node_added_while_the_page_is_open_appears(page, tmp_path):
    from web_server import LiveServer

    from agentforge.store import SqlStore
    from agentforge.web.synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "growing", 5, files_for=0, in_flight=0)
    server = LiveServer([run.path])
    try:
        _open(page, server.url)
        assert page.locator("path.node").count() == 5
        store = SqlStore.open(run.path / "archive.sqlite")
        try:
            added = store.add_node(run.run_id, parent_id=run.node_ids[0],
                                   proposal={"summary": "a new child", "diagnosis": "x" * 12,
                                             "change": "y" * 12})
        finally:
            store.close()
        page.locator(f"path.node[data-id='{added.id}']").wait_for(timeout=TIMEOUT)
        assert "6 nodes" in page.locator("#run-spend").inner_text()
    finally:
        server.stop()


def test_the_static_export_opens_from_file_and_runs_no_payload(page, hostile_run, tmp_path):
    from typer.testing import CliRunner

    from agentforge.cli import app

    out = tmp_path / "run.html"
    done = CliRunner().invoke(app, ["web", "export", str(hostile_run.path), "--out", str(out)])
    assert done.exit_code == 0, done.output
    html = out.read_text()
    assert HOSTILE not in html and "</script><script>window" not in html
    _open(page, out.as_uri())
    assert page.locator("path.node").count() == len(hostile_run.node_ids)
    page.click(f"path.node[data-id='{hostile_run.hostile_node}']")
    panel = page.locator(f".node-panel[data-node='{hostile_run.hostile_node}']")
    panel.wait_for(timeout=TIMEOUT)
    assert "<script>window.__pwned=1</script>" in panel.inner_text()
    panel.locator("table.tasks tbody tr", has_text="py-task-00").first.get_by_text(
        "trajectory").click()
    page.locator(".trajectory").first.wait_for(timeout=TIMEOUT)
    assert "chose meta-prompting" in page.locator(".trajectory").first.inner_text()
    _not_pwned(page)
    page.screenshot(path=str(tmp_path / "export.png"))
    assert not page.errors


def test_several_runs_are_listed_and_chosen_on_the_page(page, tmp_path):
    from web_server import LiveServer

    from agentforge.web.synthetic import write_synthetic_run

    write_synthetic_run(tmp_path / "runs" / "alpha", 4, files_for=0)
    write_synthetic_run(tmp_path / "runs" / "beta", 9, files_for=0, seed=5)
    server = LiveServer([tmp_path / "runs"])
    try:
        _open(page, server.url)
        options = page.locator("#run-select option")
        assert options.all_inner_texts()[0].startswith("alpha") and options.count() == 2
        assert page.locator("path.node").count() == 4
        page.select_option("#run-select", "beta")
        page.locator("#tree[data-nodes='9']").wait_for(state="attached", timeout=TIMEOUT)
        assert page.locator("path.node").count() == 9
    finally:
        server.stop()
