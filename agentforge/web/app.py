"""The web view's FastAPI app: JSON routes over RunCatalog, the page, and its guards.

Guards, in order: the Host header must name this server (a page of another site cannot
reach a loopback server through DNS rebinding), then the token when one is set (query
`?token=`, a cookie set from it, or `Authorization: Bearer`). Only GET and HEAD routes
exist; every answer carries a strict Content-Security-Policy; errors are one JSON line.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import asynccontextmanager
from importlib.resources import files as package_files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from agentforge.web.errors import NotFound
from agentforge.web.runs import RunCatalog

STATIC = Path(str(package_files("agentforge.web") / "static"))
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TOKEN_COOKIE = "agentforge_token"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def create_app(paths: list[Path], *, token: str | None = None) -> FastAPI:
    """The app serving the runs under `paths`; with a token, every request must carry it."""
    catalog = RunCatalog(paths)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        catalog.close()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, debug=False,
                  lifespan=lifespan)
    app.state.catalog = catalog
    app.add_middleware(GZipMiddleware, minimum_size=2048)  # 5,000 summaries: ~700 KB -> ~80 KB

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        if token is None and not _loopback_host(request.headers.get("host", "")):
            return _error(403, "this server answers only to a loopback Host: open it as "
                               "http://127.0.0.1:PORT/ (or serve with --host and a --token)")
        if token is not None and not _has_token(request, token):
            return _error(401, "this server needs its token: open the URL it printed "
                               "(…/?token=…)")
        try:
            response = await call_next(request)
        except Exception:  # no traceback ever leaves the server
            response = _error(500, "internal error (see the server's log)")
        if token is not None and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> Response:
        return _error(404, str(exc))

    @app.exception_handler(Exception)
    async def internal(_request: Request, _exc: Exception) -> Response:
        return _error(500, "internal error (see the server's log)")

    @app.get("/")
    def index() -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/runs")
    def runs() -> list[dict]:
        listed = []
        for name, path in catalog.run_dirs().items():
            try:
                summary = catalog.archive(name).summary()
            except Exception as exc:  # one unreadable run must not hide the others
                why = str(exc) if isinstance(exc, NotFound) else "its archive cannot be read"
                listed.append({"name": name, "path": str(path), "run_id": None,
                               "status": "unreadable", "best_id": None, "error": why})
                continue
            listed.append({"name": name, "path": str(path), "run_id": summary["run_id"],
                           "status": summary["status"], "best_id": summary["best_id"]})
        return listed

    @app.get("/api/runs/{name}")
    def run_summary(name: str) -> dict:
        return catalog.archive(name).summary()

    @app.get("/api/runs/{name}/version")
    def version(name: str, request: Request) -> Response:
        current = catalog.archive(name).version()
        return _conditional(request, current, lambda: {"version": current})

    @app.get("/api/runs/{name}/nodes")
    def nodes(name: str, request: Request) -> Response:
        archive = catalog.archive(name)
        current = archive.version()
        return _conditional(request, current, archive.nodes)

    @app.get("/api/runs/{name}/nodes/{node_id}")
    def node(name: str, node_id: int) -> dict:
        return catalog.archive(name).node_detail(node_id)

    @app.get("/api/runs/{name}/diff")
    def diff(name: str, a: int, b: int) -> dict:
        return catalog.archive(name).diff(a, b)

    @app.get("/api/runs/{name}/search")
    def search(name: str, q: str = "") -> dict:
        return catalog.archive(name).search(q)

    @app.get("/api/runs/{name}/matrix")
    def matrix(name: str, ids: str = "") -> dict:
        return catalog.archive(name).matrix(ids)

    @app.get("/api/runs/{name}/files/{relative:path}")
    def run_file(name: str, relative: str) -> Response:
        path = catalog.archive(name).file(relative)
        # text/plain whatever the file says it is: a browser never renders agent output
        return FileResponse(path, media_type="text/plain; charset=utf-8",
                            headers={"Content-Disposition": "inline"})

    return app


def _conditional(request: Request, version: str, body) -> Response:
    """304 when the client already has this version (the change feed's idle cost), else JSON."""
    etag = '"' + _digest(version) + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    return JSONResponse(body(), headers={"ETag": etag, "Cache-Control": "no-cache"})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _loopback_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOOPBACK_HOSTS or host.startswith("[::1]")


def _has_token(request: Request, token: str) -> bool:
    given = (request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
             or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
