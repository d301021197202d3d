# ruff: noqa: UP031, SIM105 - valid for Python 3.5 (no f-strings): instance images are old
"""What the warden (warden.py) does to processes: start a command as its user with its tag,
find every process carrying a tag, kill them in rounds, read the OOM count.

Part of the warden's text, not imported by agentforge: warden_link.py sends it to the
container as the module `warden_processes` before warden.py (standard library only, valid
for Python 3.5). A command's tag is a supplementary group only CAP_SETGID could drop.
"""

import ctypes
import errno
import os
import signal
import struct
import time

KILL_ROUNDS_SECONDS = 5.0
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


def everything(groups):
    return True


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
