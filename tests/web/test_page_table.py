"""The node table and the compare matrix in Chromium: sort, filter, tick, select with the tree;
and both at 5,000 nodes (the table and the whole-tree overview)."""

from __future__ import annotations

import pytest
from web_server import TIMEOUT, LiveServer, node_rows, open_page, wait_until

pytestmark = [pytest.mark.browser]


def _table(page):
    page.click("#tabs button[data-tab='table']")
    page.locator("table.nodes tbody tr[data-id]").first.wait_for(timeout=TIMEOUT)


def _shown_ids(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all(
        "table.nodes tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)")]


def _count(page) -> str:
    return page.locator(".table-count").inner_text()


def test_the_table_sorts_filters_and_selects_with_the_tree(page, live_server, client):
    nodes = {n["id"]: n for n in node_rows(client, "hostile")}
    open_page(page, live_server.url)
    _table(page)
    assert _count(page).startswith(f"{len(nodes)} of {len(nodes)} nodes shown")
    page.click("table.nodes th[data-key='score'] button")  # best first
    assert page.get_attribute("th[data-key='score']", "aria-sort") == "descending"
    by_score = sorted((n for n in nodes.values() if n["score"] is not None),  # ties: more tasks
                      key=lambda n: (-n["score"], -n["tasks"], n["id"]))
    assert _shown_ids(page)[:5] == [n["id"] for n in by_score[:5]]
    page.click("table.nodes th[data-key='score'] button")  # lowest first, unscored still last
    lowest = sorted(by_score, key=lambda n: (n["score"], n["tasks"], n["id"]))[0]
    assert _shown_ids(page)[0] == lowest["id"]

    page.uncheck("input[data-status='invalid']")
    valid = [i for i, n in nodes.items() if n["status"] != "invalid"]
    assert _count(page).startswith(f"{len(valid)} of {len(nodes)}")
    assert set(_shown_ids(page)) <= set(valid)
    assert page.locator("path.node.dim").count() == len(nodes) - len(valid)  # the tree agrees
    page.select_option("#operator-filter", "prompt_mutation")
    assert {nodes[i]["operator"] for i in _shown_ids(page)} == {"prompt_mutation"}
    page.select_option("#operator-filter", "")
    page.check("input[data-status='invalid']")
    # Text of the whole diagnosis (not in the summaries): the server's search adds those nodes.
    page.fill("#text-filter", "stops before running")
    children = len(nodes) - 1
    wait_until(page, f"document.querySelector('.table-count').textContent"
                     f".startsWith('{children} of')")
    page.fill("#text-filter", "")

    row = _shown_ids(page)[3]
    page.click(f"table.nodes tr[data-id='{row}'] td:nth-child(2)")  # the table selects in the tree
    page.locator(f"path.node.selected[data-id='{row}']").wait_for(timeout=TIMEOUT)
    assert page.locator("#tab-table.active").count() == 1  # the table stays open
    other = next(i for i in nodes if i != row)
    page.click(f"path.node[data-id='{other}']")  # and the tree selects in the table
    page.locator(f"table.nodes tr.selected[data-id='{other}']").wait_for(timeout=TIMEOUT)
    assert not page.errors


def test_ticked_rows_are_compared_task_by_task(page, live_server, client):
    nodes = [n for n in node_rows(client, "hostile") if n["tasks"]]
    ids = [n["id"] for n in nodes[:3]]
    open_page(page, live_server.url)
    _table(page)
    for node_id in ids:
        page.click(f"table.nodes tr[data-id='{node_id}'] input[type=checkbox]")
    page.click("button.compare-selected")
    matrix = page.locator(f".matrix[data-ids='{','.join(map(str, ids))}']")
    matrix.wait_for(timeout=TIMEOUT)
    assert matrix.locator("th.node-col").count() == 3
    detail = client.get(f"/api/runs/hostile/nodes/{ids[0]}").json()
    tasks = {(e["split"], e["task_id"]) for e in detail["evaluations"] if e["finished"]}
    first = matrix.locator("tbody tr td:nth-child(3)")  # the first node's column
    assert first.count() >= len(tasks)
    marks = first.all_inner_texts()
    assert marks.count("✓") == sum(1 for e in detail["evaluations"] if e["resolved"])
    assert f"compare={','.join(map(str, ids))}" in page.url  # the address names the comparison
    matrix.locator("input.only-differ").check()
    assert matrix.locator("tbody tr:not(.differs)").count() == 0
    assert not page.errors


@pytest.mark.slow
def test_5000_nodes_in_the_table_and_the_overview(page, big_run):
    server = LiveServer([big_run.path])
    try:
        open_page(page, server.url)
        assert page.get_attribute("#view-modes [data-mode='overview']", "aria-pressed") == "true"
        assert page.locator("path.node").count() == 5000
        assert page.get_attribute("path.lineage", "d")
        # The whole archive on screen at once, every mark coloured.
        inside = page.evaluate("""() => {
            const box = document.querySelector('#tree').getBoundingClientRect();
            const all = document.querySelector('g.nodes').getBoundingClientRect();
            return all.left >= box.left && all.right <= box.right && all.top >= box.top
                   && all.bottom <= box.bottom && all.width > box.width / 3; }""")
        assert inside
        assert page.locator("g.labels text").count() == 0  # specks at this size: no ids yet
        page.mouse.move(300, 450)
        for _ in range(8):
            page.mouse.wheel(0, -300)  # zoom in until ids are readable
        wait_until(page, "document.querySelectorAll('g.labels text').length > 0")
        size = page.evaluate("parseFloat(getComputedStyle(document.querySelector("
                             "'g.labels text')).fontSize) * d3.zoomTransform("
                             "document.querySelector('#tree')).k")
        assert size >= 10  # on screen, in px

        _table(page)
        assert _count(page).startswith("5,000 of 5,000")
        assert page.locator("table.nodes tbody tr").count() < 120  # only the rows on screen
        page.click("table.nodes th[data-key='tokens'] button")
        tokens = page.evaluate("""() => [...document.querySelectorAll(
            'table.nodes tbody tr[data-id] td:nth-child(10)')].map(td => Number(
            td.textContent.replace(/,/g, '')))""")
        assert tokens == sorted(tokens, reverse=True) and len(tokens) > 10
        page.focus("table.nodes")
        page.keyboard.press("End")  # the last row comes on screen
        last = page.evaluate("document.querySelector('table.nodes')"
                             ".getAttribute('aria-activedescendant')")
        page.locator(f"tr#{last}").wait_for(timeout=TIMEOUT)
        page.locator("#min-score").fill("0.9")
        shown = int(_count(page).split(" of ")[0].replace(",", ""))
        assert 0 < shown < 5000
        assert page.locator("path.node:not(.dim)").count() == shown
        assert not page.errors
    finally:
        server.stop()


def test_the_table_and_matrix_in_the_export_show_hostile_text_as_text(page, hostile_run, tmp_path):
    from agentforge.web.export import export_html

    out = tmp_path / "run.html"
    out.write_text(export_html(hostile_run.path), encoding="utf-8")
    open_page(page, out.as_uri())
    _table(page)
    total = len(hostile_run.node_ids)
    assert _count(page).startswith(f"{total} of {total}")
    page.fill("#text-filter", "<svg onload")  # the hostile proposal, found in the export's data
    wait_until(page, "document.querySelector('.table-count').textContent.startsWith('1 of')")
    assert _shown_ids(page) == [hostile_run.hostile_node]
    row = page.locator(f"table.nodes tr[data-id='{hostile_run.hostile_node}']")
    assert "<script>window.__pwned=1</script>" in row.inner_text()
    page.fill("#text-filter", "")
    others = [n for n in hostile_run.node_ids if n != hostile_run.hostile_node][:2]
    ticked = [hostile_run.hostile_node, *others]
    for node_id in ticked:
        page.click(f"table.nodes tr[data-id='{node_id}'] input[type=checkbox]")
    page.click("button.compare-selected")
    matrix = page.locator(".matrix")
    matrix.wait_for(timeout=TIMEOUT)
    assert matrix.locator("th.node-col").count() == 3
    assert hostile_run.hostile_task in matrix.inner_text()  # a task id full of payloads, as text
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img, iframe, object, embed").count() == 0
    assert not page.errors


def test_a_copy_shows_as_a_copy_in_the_tree_the_table_and_its_panel(page, tmp_path):
    from agentforge.store import SqlStore
    from agentforge.web.synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "copies", 5, files_for=0, in_flight=0)
    store = SqlStore.open(run.path / "archive.sqlite")
    try:
        original = run.node_ids[1]
        copy = store.add_node(run.run_id, parent_id=run.node_ids[0],
                              proposal={"summary": "the same change again", "diagnosis": "x" * 12,
                                        "change": "y" * 12}).id
        store.mark_copy(copy, original)
    finally:
        store.close()
    server = LiveServer([run.path])
    try:
        open_page(page, server.url)
        mark = page.locator(f"path.node.copy[data-id='{copy}']")
        mark.wait_for(timeout=TIMEOUT)
        assert f"copy of node {original}" in mark.get_attribute("aria-label")
        assert page.locator("path.node.copy").count() == 1  # the original is no copy
        _table(page)
        status = page.locator(f"table.nodes tr[data-id='{copy}'] td.copy")
        assert status.inner_text() == f"copy of node {original}"
        page.click(f"table.nodes tr[data-id='{copy}'] td:nth-child(2)")
        page.click("#tabs button[data-tab='node']")
        panel = page.locator(f".node-panel[data-node='{copy}'] p.copy")
        panel.wait_for(timeout=TIMEOUT)
        panel.locator("button").click()  # the panel links the original
        page.locator(f".node-panel[data-node='{original}']").wait_for(timeout=TIMEOUT)
        assert not page.errors
    finally:
        server.stop()
