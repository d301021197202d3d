"""`agentforge web [PATH ...]`: the live web view; `agentforge web export RUN --out FILE.html`."""

from __future__ import annotations

import secrets
from pathlib import Path

import typer

from agentforge.errors import ConfigError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_export_app = typer.Typer(add_completion=False)


def web(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        None, metavar="[PATH ...]",
        help="Run directories or folders of run directories (default runs/); "
             "or `export RUN_DIR --out FILE.html`."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; any non-loopback "
                             "address needs a token (one is generated if not given)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    token: str = typer.Option(None, "--token", help="Require this token on every request."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
    show_help: bool = typer.Option(False, "--help", "-h", help="Show this message and exit."),
) -> None:
    """Watch runs in the browser: the archive tree, live, with every node's change and cost."""
    if paths and paths[0] == "export":  # `web export …`: its own options, its own --help
        command = typer.main.get_command(_export_app)
        command.main(args=[*paths[1:], *ctx.args, *(["--help"] if show_help else [])],
                     prog_name="agentforge web export")
        return
    if show_help:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    import uvicorn

    from agentforge.web.app import create_app

    folders = [Path(p) for p in (paths or ["runs"])]
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a directory: give a run directory (or a folder "
                              "of them) made by agentforge evolve --run-dir DIR")
    if token is None and host not in LOOPBACK:
        token = secrets.token_urlsafe(24)
    query = f"?token={token}" if token else ""
    urls = [f"http://{f'[{a}]' if ':' in a else a}:{port}/{query}" for a in _addresses(host)]
    url = urls[0]
    typer.echo(f"agentforge web: serving {', '.join(str(f) for f in folders)} at {url}")
    if urls[1:]:
        typer.echo("  also at " + ", ".join(urls[1:]))
    from agentforge.web.runs import RunCatalog

    if not RunCatalog(folders).run_dirs():
        typer.echo(f"no runs there yet: each run appears on the page once it starts "
                   f"(agentforge evolve --config FILE --run-dir {folders[0]}/NAME)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    uvicorn.run(create_app(folders, token=token), host=host, port=port, log_level="warning",
                server_header=False, proxy_headers=False)


def _addresses(host: str) -> list[str]:
    """The addresses a browser can use for `host`: each of the machine's own IPv4 addresses
    when it binds all of them (0.0.0.0, ::), else the host itself."""
    if host not in ("0.0.0.0", "::"):
        return [host]
    import fcntl
    import socket
    import struct

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            try:  # SIOCGIFADDR: the interface's IPv4 address
                packed = fcntl.ioctl(probe.fileno(), 0x8915,
                                     struct.pack("256s", name[:15].encode()))
            except OSError:
                continue
            found.append(socket.inet_ntoa(packed[20:24]))
    # Loopback last: the addresses worth copying to another machine come first.
    return sorted(found, key=lambda address: address.startswith("127.")) or [host]


@_export_app.command()
def export(
    run_dir: Path = typer.Argument(..., help="The run directory."),
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write."),
) -> None:
    """Write one self-contained HTML file of the run (opens from file://)."""
    from agentforge.evolve.rundir import RunDir
    from agentforge.web.errors import NotFound
    from agentforge.web.export import export_html

    if not RunDir(run_dir).exists():
        raise ConfigError(f"{run_dir} is not a run directory (no archive): give the "
                          "directory of agentforge evolve --run-dir DIR")
    try:
        page = export_html(run_dir)
    except NotFound as exc:
        raise ConfigError(f"cannot export {run_dir}: {exc}") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(page.encode()) / 1e6:.1f} MB): open it in a browser")
