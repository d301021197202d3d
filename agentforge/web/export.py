"""`agentforge web export`: one self-contained HTML file of a run, readable from file://.

The page's own scripts and styles are inlined, the data goes into a
`<script type="application/json">` block, and a Content-Security-Policy meta tag allows
exactly those inline blocks by their sha256. Inside the JSON every `<`, `>`, `&` and the
two JavaScript line separators are \\u-escaped, so no text of the run (a `</script>` in a
proposal, say) can end the block early.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from agentforge.web.app import STATIC
from agentforge.web.archive import RunArchive
from agentforge.web.errors import NotFound

MAX_FILE_BYTES = 2_000_000
MAX_TOTAL_FILE_BYTES = 40_000_000
_SCRIPT = re.compile(r'<script src="/static/([^"]+)"></script>')
_STYLE = '<link rel="stylesheet" href="/static/app.css">'


def export_html(run_dir: Path) -> str:
    """The run at `run_dir` as one HTML document (data, scripts and styles inlined)."""
    archive = RunArchive(Path(run_dir))
    try:
        data = _collect(archive, Path(run_dir).resolve().name)
    finally:
        archive.close()
    return render_page(data)


def render_page(data: dict) -> str:
    """The page with `data` inlined (the shape AF.source reads in its export mode)."""
    page = (STATIC / "index.html").read_text()
    scripts: list[str] = []

    def inline_script(match: re.Match) -> str:
        code = (STATIC / match.group(1)).read_text()
        if "</script" in code.lower():  # never true for d3 and our files; refuse if it becomes
            raise ValueError(f"{match.group(1)} contains </script>: cannot inline it safely")
        scripts.append(code)
        return f"<script>{code}</script>"

    page = _SCRIPT.sub(inline_script, page)
    style = (STATIC / "app.css").read_text()
    page = page.replace(_STYLE, f"<style>{style}</style>")
    blob = f'<script type="application/json" id="agentforge-data">{safe_json(data)}</script>'
    page = page.replace("<script>", blob + "\n<script>", 1)
    hashes = " ".join(f"'sha256-{_sha(code)}'" for code in scripts)
    policy = (f"default-src 'none'; script-src {hashes}; style-src 'sha256-{_sha(style)}'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    return page.replace('<meta charset="utf-8">', '<meta charset="utf-8">\n' + meta, 1)


def safe_json(data) -> str:
    """JSON that is safe inside an HTML script element (no tag, entity or line separator)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _collect(archive: RunArchive, name: str) -> dict:
    summary = archive.summary()
    nodes = archive.nodes()
    details, files, budget = {}, {}, MAX_TOTAL_FILE_BYTES
    for row in nodes["rows"]:
        detail = archive.node_detail(row[0])
        details[str(row[0])] = detail
        wanted = [f for e in detail["evaluations"] for f in e["files"]] + detail["files"]
        for relative in wanted:
            if relative in files:
                continue
            try:
                path = archive.file(relative)
            except NotFound:
                continue
            size = path.stat().st_size
            if size > MAX_FILE_BYTES or size > budget:
                continue
            files[relative] = path.read_text(errors="replace")
            budget -= size
    return {"runs": [{"name": name, "path": summary["run_dir"], "run_id": summary["run_id"],
                      "status": summary["status"], "best_id": summary["best_id"]}],
            "summary": summary, "nodes": nodes, "details": details, "files": files}


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
