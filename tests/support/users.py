"""An unprivileged user of a test's own (rootless tests, tests/integration
and tests/e2e): made with useradd, with a subordinate id range when the
test wants one, a runtime directory (XDG_RUNTIME_DIR) and a directory it
can reach; remove() takes all of it away again, the user's processes
included (they can only be the test's)."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

SUBID_SIZE = 65536


def _free_subid_start():
    """The first id past every range of /etc/subuid and /etc/subgid (and
    past 100000, the tests' own user namespaces' range)."""
    end = 100000 + SUBID_SIZE
    for path in ("/etc/subuid", "/etc/subgid"):
        try:
            with open(path) as f:
                for line in f:
                    fields = line.strip().split(":")
                    if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                        end = max(end, int(fields[1]) + int(fields[2]))
        except FileNotFoundError:
            pass
    return end


def _drop_line(path, line):
    with open(path) as f:
        lines = f.readlines()
    with open(path, "w") as f:
        f.writelines(x for x in lines if x != line)


class User:
    """An unprivileged user of the test's own: its name, ids, runtime
    directory (XDG_RUNTIME_DIR) and subordinate id range."""

    def __init__(self, with_range=True):
        self.name = "pyrl" + uuid.uuid4().hex[:8]
        # (-r: a system user, which useradd gives no subordinate ids of its
        # own: the test decides whether it has a range)
        subprocess.run(["useradd", "-r", "-M", "-N", "-s", "/usr/sbin/nologin", "-d",
                        "/nonexistent", self.name], check=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.lines = []
        self.subid = None
        if with_range:
            self.subid = _free_subid_start()
            line = "%s:%d:%d\n" % (self.name, self.subid, SUBID_SIZE)
            for path in ("/etc/subuid", "/etc/subgid"):
                with open(path, "a") as f:
                    f.write(line)
                self.lines.append((path, line))
        self.xdg = "/run/user/%d" % self.uid
        os.makedirs(self.xdg, 0o700)
        os.chown(self.xdg, self.uid, self.gid)
        # the bundles: a directory the user can reach (not pytest's, 0700)
        self.home = tempfile.mkdtemp(prefix="pyrunc-rootless-", dir="/tmp")
        os.chmod(self.home, 0o755)
        os.chown(self.home, self.uid, self.gid)

    def as_user(self):
        """subprocess options that run a command as this user."""
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "env": self.env(),
                "cwd": self.home}

    def processes(self):
        """The user's processes (those just killed given a moment to be
        reaped)."""
        for _ in range(50):
            left = [int(p) for p in os.listdir("/proc") if p.isdigit() and _owned_by(p, self.uid)]
            if not left:
                return []
            time.sleep(0.1)
        return left

    def kill_all(self):
        """SIGKILL every process of the user (a rootless Podman's pause
        process outlives its commands)."""
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self):
        for path, line in self.lines:
            _drop_line(path, line)
        shutil.rmtree(self.xdg, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)
        subprocess.run(["userdel", self.name], check=True)

    def env(self):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "XDG_RUNTIME_DIR": self.xdg,
                "HOME": self.home, "LANG": "C.UTF-8"}


def _owned_by(pid, uid):
    try:
        return os.stat("/proc/%s" % pid).st_uid == uid
    except OSError:
        return False
