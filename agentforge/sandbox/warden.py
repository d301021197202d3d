# ruff: noqa: UP031, SIM105 - valid for Python 3.5 (no f-strings): instance images are old
"""The sandbox's warden: the container's first process; it runs every command and ends it.

Not imported by agentforge: the host sends this text to the container's own Python over the
container's stdin (see warden_link.py), so it uses the standard library only and stays valid
for Python 3.5. It runs as root with four capabilities (KILL, SETUID, SETGID, SETPCAP) and
is pid 1:

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

import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time

FRAME = struct.Struct(">BIL")
STDOUT, STDERR, DONE, HELLO = 1, 2, 3, 4
TAG_BASE = 1900000000
TIMEOUT_EXIT_CODE = 124
KILL_ROUNDS_SECONDS = 5.0
PIPE_GRACE_SECONDS = 1.0
"""After a kill, how long the output may still drain (a pipe handed to a process outside the
tree would otherwise hold the call open)."""
CAP_VERSION_3 = 0x20080522
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_CAPBSET_DROP = 24
WARDEN_CAPABILITIES = (5, 6, 7, 8)  # KILL, SETGID, SETUID, SETPCAP: what the container adds
OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


# Once per sandbox: ctypes' import time does not matter here (it did per command).
LIBC = ctypes.CDLL(None, use_errno=True)


def drop_bounding_set():
    """Take the warden's capabilities out of the bounding set: nothing the command runs can
    ever hold them (with no-new-privileges it could not anyway; this makes it visible)."""
    for number in WARDEN_CAPABILITIES:
        if LIBC.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) != 0:
            raise OSError(errno.EPERM, "cannot drop capability %d from the bounding set" % number)


def drop_capabilities():
    """Clear every capability of this process (a root command must not keep the warden's)."""
    header = struct.pack("=II", CAP_VERSION_3, 0)
    if LIBC.capset(header, bytes(24)) != 0:
        raise OSError(errno.EPERM, "capset failed")


def rename(title):
    """Show as `title` in ps and to `pkill -f` (no "python" in it): overwrite our own argv."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            memory.write((title + b"\0" * (end - start))[:end - start - 1])
    except (OSError, ValueError, IndexError):
        pass  # cosmetic


def send(kind, ident, payload=b""):
    """One frame to the host, written whole (stdout is blocking: the host always reads)."""
    view = memoryview(FRAME.pack(kind, ident, len(payload)) + payload)
    while view:
        view = view[os.write(1, view):]


def reply(ident, **result):
    send(DONE, ident, json.dumps(result).encode())


def process_table():
    """{pid: (state, groups)} of every process but this one."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or name == "1":
            continue
        state, groups = b"?", ()
        try:
            with open("/proc/" + name + "/status", "rb") as status:
                for line in status:
                    if line.startswith(b"State:"):
                        state = line.split()[1]
                    elif line.startswith(b"Groups:"):
                        groups = line.split()[1:]
        except OSError:
            continue
        table[int(name)] = (state, groups)
    return table


def kill_matching(wanted, reap):
    """SIGKILL every process for which wanted(groups) holds, in rounds until none is left
    (a fork bomb needs several); False if some still live after KILL_ROUNDS_SECONDS."""
    stop = time.monotonic() + KILL_ROUNDS_SECONDS
    while True:
        live = [pid for pid, (state, groups) in process_table().items()
                if state != b"Z" and wanted(groups)]
        if not live:
            return True
        if time.monotonic() > stop:
            return False
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap()
        time.sleep(0.002)


def oom_kills():
    for path in OOM_FILES:
        try:
            with open(path) as events:
                for line in events:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0


def passwd_homes():
    homes = {}
    try:
        with open("/etc/passwd") as passwd:
            for line in passwd:
                fields = line.split(":")
                if len(fields) > 5 and fields[2].isdigit():
                    homes.setdefault(int(fields[2]), fields[5])
    except OSError:
        pass
    return homes


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


def everything(groups):
    return True


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


def exit_code(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def run_child(argv, uid, gid, tag, cwd, env, out, err):
    """In the forked child: become the command's user with its tag, then exec it."""
    try:
        for number in range(1, signal.NSIG):
            if number not in (signal.SIGKILL, signal.SIGSTOP):
                try:
                    signal.signal(number, signal.SIG_DFL)
                except (OSError, ValueError, RuntimeError):
                    pass
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.closerange(3, 65536)
        os.setsid()
        os.setgroups([gid, tag])
        os.setresgid(gid, gid, gid)
        drop_bounding_set()
        os.setresuid(uid, uid, uid)
        if uid == 0:
            drop_capabilities()
        os.chdir(cwd)
    except OSError as exc:
        os.write(2, ("agentforge warden: cannot start the command: %s\n" % exc).encode())
        os._exit(126)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        os.write(2, ("%s: %s\n" % (argv[0].decode("utf-8", "replace"), exc.strerror)).encode())
        os._exit(127 if exc.errno == errno.ENOENT else 126)


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
