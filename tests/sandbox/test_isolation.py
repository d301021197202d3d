"""Attempts to break out of a sandbox that must fail: network, host secrets, root, writes.

No test here sends traffic to an outside address: network probes target loopback or a
listener this test binds on the host's own addresses.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import threading
import uuid

import pytest

from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.engine import docker_client


@pytest.fixture(scope="module")
def box(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image)) as sandbox:
        yield sandbox


def run_ok(box: Sandbox, cmd: list[str] | str) -> str:
    done = box.exec(cmd, timeout=120)
    assert done.ok, done.output
    return done.output


# -- network -------------------------------------------------------------------------------


def test_only_loopback_interface(box: Sandbox):
    assert run_ok(box, ["ls", "/sys/class/net"]).split() == ["lo"]
    dev_lines = run_ok(box, ["cat", "/proc/net/dev"]).splitlines()[2:]
    assert [line.split(":")[0].strip() for line in dev_lines] == ["lo"]


def test_no_route_at_all(box: Sandbox):
    ipv4 = run_ok(box, ["cat", "/proc/net/route"]).splitlines()
    assert ipv4[0].split()[:3] == ["Iface", "Destination", "Gateway"]
    assert ipv4[1:] == [], f"routes inside the sandbox: {ipv4[1:]}"
    ipv6 = box.exec(["cat", "/proc/net/ipv6_route"]).output.split("\n")
    assert all(line.split()[-1] == "lo" for line in ipv6 if line.strip())


PROBE_DNS = """
import socket
try:
    print("resolved", socket.getaddrinfo("agentforge-probe.invalid", 80)[0][4])
except socket.gaierror as exc:
    print("gaierror", exc.errno == socket.EAI_AGAIN, exc.errno == socket.EAI_NONAME)
"""


def test_no_working_resolver(box: Sandbox):
    # A working resolver answers NXDOMAIN (EAI_NONAME) for .invalid; with none reachable
    # the lookup fails with EAI_AGAIN without any answer.
    assert run_ok(box, ["python3", "-c", PROBE_DNS]).split() == ["gaierror", "True", "False"]


def host_addresses() -> list[str]:
    """The host's own non-loopback IPv4 addresses (docker0's first), read with SIOCGIFADDR."""
    found = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _index, name in socket.if_nameindex():
            try:
                request = struct.pack("256s", name[:15].encode())
                packed = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
            except OSError:
                continue  # no IPv4 address on this interface
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                found.append((name != "docker0", address))
    finally:
        probe.close()
    return [address for _rank, address in sorted(found)]


class Listener:
    """A TCP listener on a host address that counts the connections it accepts."""

    def __init__(self, address: str) -> None:
        self.sock = socket.create_server((address, 0))
        self.address, self.port = self.sock.getsockname()[:2]
        self.accepted = 0
        self.sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


PROBE_CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print("connected")
except OSError as exc:
    print("blocked", type(exc).__name__)
"""


@pytest.fixture(params=["bridge-gateway", "primary"])
def listener(request, docker_engine):
    addresses = host_addresses()
    if request.param == "primary":
        addresses = [a for a in addresses if not a.startswith("172.17.")] or addresses
    if not addresses:
        pytest.skip("this host has no non-loopback IPv4 address to listen on")
    server = Listener(addresses[0])
    yield server
    server.close()


def test_host_listener_is_unreachable_from_the_sandbox(box: Sandbox, listener: Listener):
    probe = ["python3", "-c", PROBE_CONNECT, listener.address, str(listener.port)]
    assert run_ok(box, probe).startswith("blocked"), f"sandbox reached {listener.address}"
    # The same listener answers the host, so the probe above could have succeeded.
    socket.create_connection((listener.address, listener.port), timeout=5).close()
    for _ in range(50):
        if listener.accepted:
            break
        threading.Event().wait(0.1)
    assert listener.accepted == 1


def test_probe_does_connect_when_a_network_is_granted(agent_image: str):
    # Control for the test above: the very same probe succeeds once a sandbox is explicitly
    # put on the bridge network, so "blocked" is the isolation, not a broken probe.
    addresses = host_addresses()
    if not addresses:
        pytest.skip("this host has no non-loopback IPv4 address to listen on")
    server = Listener(addresses[0])  # docker0's address when there is one
    try:
        with Sandbox(SandboxConfig(image=agent_image, network="bridge")) as bridged:
            probe = ["python3", "-c", PROBE_CONNECT, server.address, str(server.port)]
            outcome = bridged.exec(probe, timeout=60).output.strip()
    finally:
        server.close()
    if outcome != "connected":
        pytest.skip(f"this host's firewall blocks the bridge too ({outcome}); no control")
    assert server.accepted == 1


# -- host secrets --------------------------------------------------------------------------


def test_host_environment_secret_is_not_visible(agent_image: str, monkeypatch):
    secret = f"sk-agentforge-host-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with Sandbox(SandboxConfig(image=agent_image)) as fresh:
        env = run_ok(fresh, ["env"])
        assert "OPENAI_API_KEY" not in env
        # Every environment readable inside, including PID 1 and this command's own.
        environs = run_ok(fresh, "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
        assert "HOME=/tmp" in environs  # the probe did read environments
        assert secret not in environs and "OPENAI_API_KEY" not in environs
        config_env = docker_client().api.inspect_container(fresh.container_id)["Config"]["Env"]
        assert not any(secret in item for item in config_env)


def test_no_docker_socket_inside(box: Sandbox):
    found = run_ok(box, "ls /var/run/docker.sock /run/docker.sock 2>/dev/null; true")
    assert found.strip() == ""


# -- root ------------------------------------------------------------------------------------


def test_runs_as_an_unprivileged_user(box: Sandbox):
    assert run_ok(box, ["id", "-u"]).strip() == "1000"
    assert run_ok(box, ["id", "-g"]).strip() == "1000"


def test_setuid_to_root_fails(box: Sandbox):
    setuid = box.exec(["python3", "-c", "import os; os.setuid(0)"])
    assert not setuid.ok and "PermissionError" in setuid.output
    # su is a setuid-root binary in the image; no-new-privileges keeps it unprivileged.
    su = box.exec("su -c id root </dev/null", timeout=60)
    assert not su.ok and "uid=0" not in su.output
    sudo = box.exec("sudo -n id", timeout=60)
    assert not sudo.ok and "uid=0" not in sudo.output


def test_no_capabilities_and_no_new_privileges(box: Sandbox):
    status = dict(
        line.split(":", 1) for line in run_ok(box, ["cat", "/proc/self/status"]).splitlines()
    )
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[field].strip(), 16) == 0, f"{field} = {status[field].strip()}"
    assert status["NoNewPrivs"].strip() == "1"


# -- writes --------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", ["/", "/etc", "/usr", "/usr/local/bin", "/opt", "/root"])
def test_cannot_write_outside_the_workspace(box: Sandbox, directory: str):
    name = f"{directory.rstrip('/')}/agentforge-escape-{uuid.uuid4().hex[:8]}"
    attempt = box.exec(["python3", "-c", f"open({name!r}, 'w').write('x')"])
    assert not attempt.ok
    assert "Read-only file system" in attempt.output or "Permission denied" in attempt.output
    assert box.exec(["test", "-e", name]).exit_code == 1


def test_root_filesystem_is_mounted_read_only(box: Sandbox):
    mounts = run_ok(box, ["cat", "/proc/self/mounts"]).splitlines()
    root = [line.split() for line in mounts if line.split()[1] == "/"]
    assert root and "ro" in root[-1][3].split(",")


@pytest.mark.parametrize("directory", ["/workspace", "/task", "/tmp"])
def test_workspace_task_and_tmp_are_writable(box: Sandbox, directory: str):
    name = f"{directory}/agentforge-write-{uuid.uuid4().hex[:8]}"
    run_ok(box, ["sh", "-c", f"echo kept > {name}"])
    assert run_ok(box, ["cat", name]) == "kept\n"
