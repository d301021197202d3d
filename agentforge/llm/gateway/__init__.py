"""The gateway: a sandbox's only way to a model, metered, budgeted and cached.

    with Gateway(upstream, ledger) as gw:
        grant = gw.grant(run_id="r1", node_id=3, task_id="t1", role="agent",
                         budget=Budget(tokens=200_000))
        with Sandbox(grant.apply(SandboxConfig())) as box:
            grant.start_forwarder(box)
            box.exec(["python", "-m", "agent", ...])   # sees OPENAI_BASE_URL=http://127.0.0.1:8765/v1

Each grant listens on a unix socket in a host directory of its own, a `SocketMount`
(sandbox/socket_mount.py): `grant.apply` bind-mounts that directory read-only into the
sandbox and sets the environment; `grant.start_forwarder` starts forwarder.py (which sits
next to the socket) inside the sandbox.

The gateway's modules form layers, each importing only those below it:
gateway (lifecycle, grants, ledger writer) -> http (the handler) -> relay
(one request) -> budget, upstream, params; gateway -> server.
"""

from __future__ import annotations

import queue
import secrets
import shutil
import socketserver
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway.budget import (
    Budget,
    BudgetRefused,
    Budgets,
    Reservation,
    run_scope,
    task_scope,
)
from agentforge.llm.gateway.http import GatewayHandler
from agentforge.llm.gateway.server import (
    Allowance,
    Deadlines,
    GatewayTCPServer,
    GatewayUnixServer,
    ServerLimits,
    raise_open_file_limit,
    return_large_buffers,
)
from agentforge.llm.gateway.upstream import Upstream
from agentforge.llm.ledger import (
    CachedResponse,
    CacheEntry,
    CallContext,
    CallRecord,
    Ledger,
    ModelCall,
    Spend,
)
from agentforge.llm.spec import Endpoint
from agentforge.sandbox.socket_mount import SocketMount

if TYPE_CHECKING:
    from agentforge.sandbox import Sandbox, SandboxConfig

CONTAINER_DIR = "/run/agentforge"
"""Where the gateway directory (socket + forwarder.py) appears inside sandboxes."""
SOCKET_NAME = "gateway.sock"
FORWARDER_PORT = 8765
_WRITE_BATCH_SECONDS = 0.05
__all__ = ["Budget", "BudgetRefused", "Gateway", "Grant"]


@dataclass
class Grant:
    """One sandbox's permission to call the model, booked to a run/node/task/role."""

    token: str
    context: CallContext
    gateway: Gateway = field(repr=False)
    budget: Budget = field(default_factory=Budget)
    cache_scope: str = ""
    mount: SocketMount | None = None
    """This grant's own directory (socket + forwarder.py), the one its sandbox sees."""

    @property
    def socket_dir(self) -> Path | None:
        """The host directory of this grant's socket (None before the gateway started)."""
        return None if self.mount is None else self.mount.host_dir

    @property
    def env(self) -> dict[str, str]:
        """The environment an agent needs: base URL, per-sandbox key, model name."""
        port = self.gateway.forwarder_port
        return {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": self.token,
                "AGENTFORGE_MODEL": self.gateway.upstream.model,
                "AGENTFORGE_GATEWAY_SOCKET": f"{CONTAINER_DIR}/{SOCKET_NAME}"}

    def apply(self, config: SandboxConfig) -> SandboxConfig:
        """A copy of `config` with this grant's directory mounted and the environment set."""
        return self._started_mount().apply(config, self.env)

    def start_forwarder(self, sandbox: Sandbox, timeout: float = 60.0) -> None:
        """Start the loopback forwarder in a running sandbox and wait until it accepts."""
        self._started_mount().start_forwarder(sandbox, timeout)

    def _started_mount(self) -> SocketMount:
        if self.mount is None:
            raise RuntimeError("start the gateway before applying its grants to sandboxes")
        return self.mount

    def revoke(self) -> None:
        """Refuse further calls with this grant's key and close its socket."""
        self.gateway.revoke(self.token)


class Gateway:
    """Host-side OpenAI-compatible proxy on a unix socket (and optionally loopback TCP)."""

    def __init__(self, upstream: Endpoint, ledger: Ledger, *, socket_dir: Path | None = None,
                 retry: RetryPolicy | None = None, cache: bool = True,
                 tcp_port: int | None = None, forwarder_port: int = FORWARDER_PORT,
                 limits: ServerLimits | None = None, shared_ledger: bool = False) -> None:
        self.upstream = upstream
        self.shared_ledger = shared_ledger
        """Other gateways (a cluster's nodes) book the same runs in this ledger: a run's total
        is read back from it before each call under a run budget."""
        self.ledger = ledger
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self.forwarder_port = forwarder_port
        self._own_dir = socket_dir is None
        self.socket_dir = Path(socket_dir or tempfile.mkdtemp(prefix="agentforge-gateway-"))
        self.socket_path = self.socket_dir / SOCKET_NAME
        self._tcp_port = tcp_port
        self._grants: dict[str, Grant] = {}
        self._grant_servers: dict[str, socketserver.BaseServer] = {}
        self.budgets = Budgets(lambda prompt, completion: ledger.cost(upstream.model, prompt,
                                                                     completion))
        self.limits = limits or ServerLimits()
        self.connections = Allowance(self.limits.max_connections, self.limits.per_grant,
                                     "connections open")
        self.in_flight = Allowance(self.limits.max_bytes_in_flight,
                                   self.limits.grant_bytes_in_flight, "bytes of requests in flight")
        self.deadlines = Deadlines()
        self._lock = threading.Lock()
        self._books: queue.Queue[CallRecord | CacheEntry | None] = queue.Queue()
        # The cache's keys live in memory so that a miss costs no database read, and fresh
        # answers stay here until the writer has stored them.
        self._cache_keys: set[str] = set()
        self._cache_fresh: dict[str, CacheEntry] = {}
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self.http = Upstream(upstream, self.retry)
        self.write_errors: list[str] = []
        """Ledger writes that failed (the database was unavailable); empty when all is well."""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Gateway:
        """Listen on the socket (and TCP if asked) and start the ledger writer."""
        # Thousands of sandbox connections must meet our limits, not the kernel's: at 1,024
        # open files the gateway could no longer open its database or reach Docker.
        raise_open_file_limit()
        return_large_buffers()  # so that a flood of huge bodies leaves no memory behind
        self._serve(self._mount(self.socket_dir).listen(GatewayHandler, GatewayUnixServer))
        if self._tcp_port is not None:
            self._serve(GatewayTCPServer(("127.0.0.1", self._tcp_port), GatewayHandler))
        self.deadlines.start()
        if self.cache:
            self._cache_keys = self.ledger.cache_keys()
        writer = threading.Thread(target=self._write_books, daemon=True, name="gateway-ledger")
        writer.start()
        self._threads.append(writer)
        return self

    def _mount(self, directory: Path) -> SocketMount:
        return SocketMount(directory, CONTAINER_DIR, SOCKET_NAME, self.forwarder_port)

    def _serve(self, server: socketserver.BaseServer, *, keep: bool = True) -> None:
        server.gateway = self  # the handler's way back to us
        server.connections = self.connections
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="gateway")
        thread.start()
        if keep:
            self._servers.append(server)
            self._threads.append(thread)

    def close(self) -> None:
        """Stop serving, write the remaining ledger entries, remove the socket directory."""
        with self._lock:
            grant_servers = list(self._grant_servers.values())
            self._grant_servers.clear()
        servers = [*self._servers, *grant_servers]
        # Each shutdown waits for its serve loop's next poll: wait for them all at once.
        stoppers = [threading.Thread(target=server.shutdown) for server in servers]
        for stopper in stoppers:
            stopper.start()
        for stopper, server in zip(stoppers, servers, strict=True):
            stopper.join()
            server.server_close()
        self._servers.clear()
        self.deadlines.stop()
        self._books.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        self.http.close()
        if self._own_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        else:
            self.socket_path.unlink(missing_ok=True)
            shutil.rmtree(self.socket_dir / "grants", ignore_errors=True)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def tcp_base_url(self) -> str:
        """http://127.0.0.1:PORT/v1 of the TCP listener (tests, perf, host-side tools)."""
        for server in self._servers:
            if isinstance(server, GatewayTCPServer):
                return f"http://127.0.0.1:{server.server_address[1]}/v1"
        raise RuntimeError("this gateway has no TCP listener: pass tcp_port=0")

    # -- grants and budgets ----------------------------------------------------------------

    def grant(self, *, run_id: str | None = None, node_id: int | None = None,
              task_id: str | None = None, role: str = "agent", budget: Budget | None = None,
              run_budget: Budget | None = None, cache_scope: str | None = None,
              step_id: str | None = None) -> Grant:
        """A new per-sandbox key booked to this run/node/task/role (and self-improvement
        step), with a task budget."""
        context = CallContext(run_id=run_id, node_id=node_id, task_id=task_id, role=role,
                              step_id=step_id)
        scope = cache_scope if cache_scope is not None else f"{run_id}/{node_id}/{task_id}/{role}"
        grant = Grant(token="af-" + secrets.token_urlsafe(24), context=context, gateway=self,
                      budget=budget or Budget(), cache_scope=scope)
        if run_budget is not None and run_id is not None:
            self.set_run_budget(run_id, run_budget)
        self.flush()  # what this gateway booked is in the ledger before we read it back
        if run_id is None:  # not booked to a run: nothing earlier to count
            task_spend = run_spend = Spend()
        else:
            task_spend = self.ledger.spend(run_id=run_id, node_id=node_id, task_id=task_id)
            run_spend = self.ledger.spend(run_id=run_id)
        # Seeded from the ledger: a resumed run keeps counting where it stopped.
        self.budgets.seed(context, task_spend, run_spend)
        if self._servers:  # started: the grant's own socket, the only one its sandbox sees
            grant.mount = self._mount(self.socket_dir / "grants" / secrets.token_hex(8))
            server = grant.mount.listen(GatewayHandler, GatewayUnixServer)
            server.grant_token = grant.token
            self._serve(server, keep=False)
        with self._lock:
            self._grants[grant.token] = grant
            if grant.mount is not None:
                self._grant_servers[grant.token] = server
        return grant

    @contextmanager
    def granted(self, **booking) -> Iterator[Grant]:
        """A grant (`grant`'s arguments) for one attempt or job: revoked, and its calls
        written to the ledger, when the block ends. Every grant's lifetime goes through here."""
        grant = self.grant(**booking)
        try:
            yield grant
        finally:
            grant.revoke()
            self.flush()

    def set_run_budget(self, run_id: str, budget: Budget) -> None:
        """Limit what all grants of a run may spend together."""
        self.budgets.set_run_budget(run_id, budget)

    def run_budget_exhausted(self, run_id: str) -> str | None:
        """Why the run's budget can pay for no further call (see Budgets.run_exhausted)."""
        return self.budgets.run_exhausted(run_id)

    def revoke(self, token: str) -> None:
        """Forget a grant's key and close its socket."""
        with self._lock:
            grant = self._grants.pop(token, None)
            server = self._grant_servers.pop(token, None)
        if server is not None:
            server.shutdown()
            server.server_close()
        if grant is not None and grant.socket_dir is not None:
            shutil.rmtree(grant.socket_dir, ignore_errors=True)

    def live_grants(self) -> int:
        """How many grants are not revoked."""
        with self._lock:
            return len(self._grants)

    def grant_for(self, token: str) -> Grant | None:
        """The grant a key belongs to, if it is live."""
        with self._lock:
            return self._grants.get(token)

    def reserve(self, grant: Grant, body: dict) -> Reservation:
        """Hold the request's worst case against its budgets, capping it to fit; may refuse."""
        run_id = grant.context.run_id
        if self.shared_ledger and run_id is not None and self.budgets.has_run_budget(run_id):
            self.budgets.raise_run_spend(run_id, self.ledger.spend(run_id=run_id))
        return self.budgets.reserve(grant.context, grant.budget, body)

    def book(self, call: CallRecord | ModelCall, reservation: Reservation | None = None) -> None:
        """Count a call against its budgets (settling its reservation) and queue it."""
        tokens, usd = 0, 0.0
        if not call.cached:
            call.cost_usd = self.ledger.cost(call.model, call.prompt_tokens,
                                             call.completion_tokens)
            tokens, usd = call.prompt_tokens + call.completion_tokens, call.cost_usd
        context = CallContext(call.run_id, call.node_id, call.task_id, call.role)
        self.budgets.settle(reservation, (task_scope(context), run_scope(call.run_id)),
                            tokens, usd)
        self._books.put(call)

    def cached(self, key: str) -> CachedResponse | CacheEntry | None:
        """The cached answer to a request, if any."""
        with self._lock:
            fresh = self._cache_fresh.get(key)
            known = key in self._cache_keys
        if fresh is not None:
            return fresh
        return self.ledger.cached(key) if known else None

    def remember(self, entry: CacheEntry) -> None:
        """Cache an answer now; the writer stores it in the database."""
        with self._lock:
            self._cache_fresh[entry.request_hash] = entry
            self._cache_keys.add(entry.request_hash)
        self._books.put(entry)

    def flush(self) -> None:
        """Wait until every booked call is in the ledger."""
        if self._threads:
            self._books.join()

    def _write_books(self) -> None:
        # One writer batches inserts so that 32 callers don't queue on SQLite one by one.
        while True:
            first = self._books.get()
            if first is not None:
                # Let a batch gather: one wake-up and one transaction for many calls, instead
                # of a thread switch per call competing with the request threads.
                time.sleep(_WRITE_BATCH_SECONDS)
            batch = [first]
            while True:
                try:
                    batch.append(self._books.get_nowait())
                except queue.Empty:
                    break
            calls = [item for item in batch if isinstance(item, CallRecord | ModelCall)]
            entries = [item for item in batch if isinstance(item, CacheEntry)]
            try:
                if calls or entries:
                    self.ledger.store(calls, entries)
            except Exception as exc:  # noqa: BLE001 - the gateway must keep serving
                # Losing ledger rows is bad, stopping every agent is worse: keep the error
                # where close() and callers can see it.
                self.write_errors.append(f"{type(exc).__name__}: {exc}")
                sys.stderr.write(f"agentforge gateway: ledger write failed: {exc}\n")
            finally:
                with self._lock:
                    for entry in entries:
                        self._cache_fresh.pop(entry.request_hash, None)
                for _ in batch:
                    self._books.task_done()
            if None in batch:
                return

