# ruff: noqa: UP031, SIM105 - valid for Python 3.5 (no f-strings); few imports (fast start)
"""Runs inside a sandbox around every command: a subreaper that can kill the command's whole tree.

Not imported by agentforge: its text is passed to the container's own Python with `-c`, so it
uses the standard library only and stays valid for Python 3.5 (instance images bring old
interpreters), and imports as little as it can: it starts with every command. Usage:
`python3 -I -S -c <this> DEADLINE TIMEOUT` with the command's argv in $AGENTFORGE_ARGV (each
argument's UTF-8 bytes in hex, space-separated), or `--probe`. The argv stays out of our
command line so that `pgrep -f`/`pkill -f` in the sandbox match the command, never us.

Why: a command can leave its session and clear its environment (`setsid env -i ...`), which
hides it from any marker the host gave it. It cannot leave this process's subtree: as a child
subreaper (PR_SET_CHILD_SUBREAPER) we adopt every orphan of the tree, so at the deadline all
descendants are found by their parent links and killed, without starting a new process
(which a sandbox at its PID limit could not do) and without touching other commands.
"""

import errno
import os
import signal
import sys
import time

PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
ARGV_VAR = "AGENTFORGE_ARGV"
# `pkill name` and a stray `kill` must not end the supervisor (SIGKILL still can).
SHIELDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
TIMEOUT_EXIT_CODE = 124
SETUP_FAILED_EXIT_CODE = 125
KILL_ROUNDS_SECONDS = 5.0


def libc_prctl():
    """prctl(2) through _ctypes alone: importing all of ctypes would slow every command."""
    import _ctypes

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = Int

    class Process:
        _handle = _ctypes.dlopen(None)

    return Function(("prctl", Process())), _ctypes.get_errno


def become_subreaper():
    """Make orphans of our descendants our children instead of the container's init."""
    try:
        prctl, get_errno = libc_prctl()
    except Exception:  # an interpreter whose _ctypes differs: the public module works too
        import ctypes

        prctl, get_errno = ctypes.CDLL(None, use_errno=True).prctl, ctypes.get_errno
    if prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    prctl(PR_SET_NAME, b"agentforge-exec", 0, 0, 0)


def process_table():
    """{pid: (ppid, state)} for every process we can see."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(name)] = (int(fields[1]), fields[0])
    return table


def descendants(root, table):
    """Pids below `root` in `table`, following parent links."""
    children = {}
    for pid, (ppid, _state) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants():
    """SIGKILL every live descendant until none is left (a fork bomb needs several rounds)."""
    me = os.getpid()
    stop = time.monotonic() + KILL_ROUNDS_SECONDS
    while time.monotonic() < stop:
        table = process_table()
        live = [pid for pid in descendants(me, table) if table[pid][1] != b"Z"]
        if not live:
            return
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.002)


def pipe_holders(pipes):
    """Descendants that still hold one of `pipes` (the exec's output) open."""
    me = os.getpid()
    table = process_table()
    holders = []
    for pid in descendants(me, table):
        if table[pid][1] == b"Z":
            continue
        fd_dir = "/proc/%d/fd" % pid
        try:
            targets = [os.readlink(fd_dir + "/" + fd) for fd in os.listdir(fd_dir)]
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                holders.append(pid)  # cannot look (it made itself undumpable): assume it holds
            continue
        if any(target in pipes for target in targets):
            holders.append(pid)
    return holders


def exit_status(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def start_command(argv):
    pid = os.fork()
    if pid:
        return pid
    # Python ignores SIGPIPE and SIGXFSZ, we ignore SHIELDED: the command gets the defaults.
    for number in (signal.SIGPIPE, signal.SIGXFSZ) + SHIELDED:
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, ("%s: %s\n" % (argv[0].decode("utf-8", "replace"), exc.strerror)).encode())
        os._exit(127 if exc.errno == errno.ENOENT else 126)


def reap(main_pid):
    """Reap every finished child; the main command's exit status, or None while it runs."""
    status = None
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == main_pid:
            status = code


def deadline_from(absolute, timeout):
    # The host sends its own monotonic deadline; on the same kernel the clocks agree. When
    # they do not (a VM between host and engine), count the timeout from now instead.
    now = time.monotonic()
    return absolute if now - 60 < absolute <= now + timeout else now + timeout


def supervise(deadline, argv):
    become_subreaper()
    for number in SHIELDED:
        signal.signal(number, signal.SIG_IGN)
    pipes = set()
    for fd in (1, 2):
        try:
            pipes.add(os.readlink("/proc/self/fd/%d" % fd))
        except OSError:
            pass
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    main_pid = start_command(argv)
    # Let go of the exec's output so that its end means the command's tree let go of it.
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    status = None
    while True:
        if status is None:
            status = reap(main_pid)
        else:
            reap(main_pid)
        if status is not None and not pipe_holders(pipes):
            return exit_status(status)  # detached helpers (output redirected) may live on
        left = deadline - time.monotonic()
        if left <= 0:
            kill_descendants()
            return TIMEOUT_EXIT_CODE
        # Woken by a child's end; while leftovers hold the output, poll for them to let go.
        signal.sigtimedwait([signal.SIGCHLD], min(left, 0.05 if status is not None else 1.0))


def main(args):
    if args == ["--probe"]:
        become_subreaper()
        sys.stdout.write("ok " + sys.executable + "\n")
        sys.stdout.flush()
        return 0
    try:
        deadline = deadline_from(float(args[0]), float(args[1]))
        argv = [bytes.fromhex(arg) for arg in os.environ.pop(ARGV_VAR).split(" ")]
    except (ValueError, IndexError, KeyError):
        sys.stderr.write("usage: supervise DEADLINE TIMEOUT, argv in hex in $%s\n" % ARGV_VAR)
        sys.stderr.flush()
        return SETUP_FAILED_EXIT_CODE
    return supervise(deadline, argv)


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
