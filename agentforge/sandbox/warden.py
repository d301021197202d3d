# ruff: noqa: UP031, SIM105 - valid for Python 3.5 (no f-strings): instance images are old
"""The sandbox's warden: the container's first process; it runs every command and ends it.

Not imported by agentforge: the host sends this text, with warden_processes.py (what it does
to processes), to the container's own Python over the container's stdin (see
warden_link.py), so both use the standard library only and stay valid for Python 3.5. It
runs as root with four capabilities (KILL, SETUID, SETGID, SETPCAP) and is pid 1:

- Out of the commands' reach. Commands run as the sandbox user, or as root without any
  capability; neither can signal pid 1 (the kernel delivers a signal from inside the
  container to its init only if the init handles it, and SIGKILL/SIGSTOP never), nor trace or
  read it (it is not dumpable). So no command can remove its own deadline.
- A command's whole tree is known whatever it does. Each command starts with a supplementary
  group of its own (its tag); a process can drop a group only with CAP_SETGID, which no
  command has, and the tag survives `setsid`, `env -i`, double forks and the death of every
  ancestor. At the deadline every process carrying the tag dies, also processes that detached
  from the output and outlived the command's own return. Killing needs no new process, so it
  works at the PID limit.
- One process for all commands: starting a command is a fork and an exec here, not a Python
  start per command.

Protocol. Requests are JSON lines on stdin: {"op": "run"|"spawn"|"kill_all", "id": N, ...}.
Replies are frames on stdout: a header (kind, request id, length) and a payload: the command's
stdout or stderr bytes, then one DONE frame with a JSON result. HELLO is the first frame.
"""

import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time

from warden_processes import (  # sent with this text (warden_link.py), not on the host path
    LIBC,
    PR_SET_DUMPABLE,
    PR_SET_NAME,
    close_quietly,
    everything,
    exit_code,
    kill_matching,
    oom_kills,
    passwd_homes,
    process_table,
    rename,
    run_child,
)

FRAME = struct.Struct(">BIL")
STDOUT, STDERR, DONE, HELLO = 1, 2, 3, 4
TAG_BASE = 1900000000
TIMEOUT_EXIT_CODE = 124
PIPE_GRACE_SECONDS = 1.0
"""After a kill, how long the output may still drain (a pipe handed to a process outside the
tree would otherwise hold the call open)."""


def send(kind, ident, payload=b""):
    """One frame to the host, written whole (stdout is blocking: the host always reads)."""
    view = memoryview(FRAME.pack(kind, ident, len(payload)) + payload)
    while view:
        view = view[os.write(1, view):]


def reply(ident, **result):
    send(DONE, ident, json.dumps(result).encode())


class Command:
    """One request's process: its tag, deadline, output pipes and exit status."""

    def __init__(self, ident, request, tag):
        self.ident = ident
        self.tag = tag
        self.tag_bytes = str(tag).encode()
        self.deadline = time.monotonic() + float(request.get("timeout") or 1e9)
        self.after = request.get("after")
        self.pid = None
        self.status = None
        self.timed_out = False
        self.pipes = {}
        self.close_by = None

    def in_tree(self, groups):
        return self.tag_bytes in groups


class Warden:
    """The loop: requests from stdin, output of every command, its exit, its deadline."""

    def __init__(self):
        self.base_env = dict(os.environ)
        self.homes = passwd_homes()
        self.next_tag = TAG_BASE
        self.commands = {}
        self.by_pid = {}
        self.by_fd = {}
        self.lingering = []
        self.waiting_ports = []
        self.poll = select.poll()
        self.inbox = b""
        os.set_blocking(0, False)
        self.poll.register(0, select.POLLIN)
        self.wake_read, wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(wake_write, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_write)
        self.poll.register(self.wake_read, select.POLLIN)

    # -- requests --------------------------------------------------------------------------

    def handle(self, request):
        op, ident = request.get("op"), int(request.get("id", 0))
        if op == "kill_all":
            reply(ident, ok=self.kill(everything))
        elif op in ("run", "spawn"):
            if request.get("before") == "kill_all":
                self.kill(everything)
            self.start(ident, request, background=op == "spawn")
        else:
            reply(ident, error="unknown request %r" % (op,))

    def start(self, ident, request, background):
        self.next_tag += 1
        command = Command(ident, request, self.next_tag)
        argv = [bytes.fromhex(arg) for arg in request["argv"]]
        uid, gid = [int(part) for part in request["user"].split(":")]
        env = dict(self.base_env)
        env["HOME"] = self.homes.get(uid, "/")
        env.update(request.get("env") or {})
        if background:
            out = err = os.open("/dev/null", os.O_RDWR)
        else:
            out_read, out = os.pipe()
            err_read, err = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in (out, err) if background else (out, err, out_read, err_read):
                close_quietly(fd)
            reply(ident, exit=126, error="cannot start the command: %s" % exc.strerror,
                  oom=oom_kills())
            return
        if pid == 0:
            run_child(argv, uid, gid, command.tag, request.get("cwd") or "/", env, out, err)
        close_quietly(out)
        if err != out:
            close_quietly(err)
        command.pid = pid
        if background:  # no deadline: it ends with a kill_all or with the sandbox
            port = request.get("port")
            if port:
                self.waiting_ports.append((ident, int(port), time.monotonic() + float(
                    request.get("timeout") or 60)))
            else:
                reply(ident, pid=pid)
            return
        self.commands[ident] = command
        self.by_pid[pid] = command
        for fd, kind in ((out_read, STDOUT), (err_read, STDERR)):
            os.set_blocking(fd, False)
            command.pipes[fd] = kind
            self.by_fd[fd] = command
            self.poll.register(fd, select.POLLIN)

    @staticmethod
    def alive(wanted):
        return any(state != b"Z" and wanted(groups)
                   for state, groups in process_table().values())

    def kill(self, wanted):
        done = kill_matching(wanted, self.reap)
        self.reap()
        return done

    # -- the loop --------------------------------------------------------------------------

    def serve(self):
        while True:
            for fd, _event in self.poll.poll(self.wait_ms()):
                if fd == 0:
                    self.read_requests()
                elif fd == self.wake_read:
                    try:
                        while os.read(self.wake_read, 512):
                            pass
                    except OSError:
                        pass
                else:
                    self.pump(fd)
            self.reap()
            self.check_ports()
            self.check_deadlines()
            self.finish_commands()

    def wait_ms(self):
        times = [c.deadline for c in self.commands.values() if not c.timed_out]
        times += [c.close_by for c in self.commands.values() if c.close_by]
        times += [c.deadline for c in self.lingering]
        if self.waiting_ports:
            times.append(time.monotonic() + 0.02)
        if not times:
            return None
        return max(0, int((min(times) - time.monotonic()) * 1000) + 1)

    def read_requests(self):
        try:
            chunk = os.read(0, 1 << 20)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            chunk = b""
        if not chunk:  # the host went away: keep the sandbox as it is; commands go on
            self.poll.unregister(0)
            return
        self.inbox += chunk
        while b"\n" in self.inbox:
            line, self.inbox = self.inbox.split(b"\n", 1)
            if not line.strip():
                continue
            request = None
            try:
                request = json.loads(line.decode())
                self.handle(request)
            except Exception as exc:  # a bad request must not end pid 1 (and the sandbox)
                reply(int(request.get("id", 0)) if isinstance(request, dict) else 0,
                      exit=125, error="bad request: %r" % (exc,))

    def pump(self, fd):
        command = self.by_fd.get(fd)
        if command is None:
            return
        try:
            data = os.read(fd, 65536)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            data = b""
        if data:
            send(command.pipes[fd], command.ident, data)
        else:
            self.close_pipe(command, fd)

    def close_pipe(self, command, fd):
        self.poll.unregister(fd)
        del self.by_fd[fd]
        del command.pipes[fd]
        close_quietly(fd)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            command = self.by_pid.pop(pid, None)
            if command is not None:
                command.status = status

    def check_ports(self):
        for entry in list(self.waiting_ports):
            ident, port, give_up = entry
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                probe.connect(("127.0.0.1", port))
                ready, error = True, None
            except OSError as exc:
                ready, error = False, str(exc)
            finally:
                probe.close()
            if ready or time.monotonic() > give_up:
                self.waiting_ports.remove(entry)
                reply(ident, ready=ready, error=None if ready else error)

    def check_deadlines(self):
        now = time.monotonic()
        for command in list(self.commands.values()):
            if not command.timed_out and now >= command.deadline:
                command.timed_out = True
                self.kill(command.in_tree)
                command.close_by = time.monotonic() + PIPE_GRACE_SECONDS
            elif command.close_by and now >= command.close_by:
                for fd in list(command.pipes):
                    self.close_pipe(command, fd)
        for command in list(self.lingering):
            if now >= command.deadline:
                self.lingering.remove(command)
                self.kill(command.in_tree)

    def finish_commands(self):
        for command in list(self.commands.values()):
            if command.status is not None and command.after == "kill_all" and command.pipes:
                self.kill(everything)  # nothing left in the sandbox may hold the output
                command.after = "done"
                command.close_by = time.monotonic() + PIPE_GRACE_SECONDS
            if command.pipes or (command.status is None and not command.timed_out):
                continue
            del self.commands[command.ident]
            if command.after == "kill_all":
                self.kill(everything)
            elif not command.timed_out and self.alive(command.in_tree):
                self.lingering.append(command)  # what it left behind dies at its deadline
            self.by_pid.pop(command.pid, None)
            if command.timed_out:
                reply(command.ident, exit=TIMEOUT_EXIT_CODE, timed_out=True, oom=oom_kills())
            else:
                reply(command.ident, exit=exit_code(command.status), oom=oom_kills())


def main():
    os.chdir("/")
    rename(b"agentforge-warden")
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    LIBC.prctl(PR_SET_NAME, b"agentforge-ward", 0, 0, 0)
    warden = Warden()
    send(HELLO, 0, json.dumps({"python": sys.version.split()[0],
                               "oom": oom_kills()}).encode())
    warden.serve()


if __name__ == "__main__":
    main()
