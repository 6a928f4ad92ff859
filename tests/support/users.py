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


class UserManager:
    """The user's own systemd (user@UID.service), started by the system's
    as a login would start it (its XDG_RUNTIME_DIR given by a drop-in:
    the v2 VM has no logind), with a cgroup of the user's inside it,
    `launch`, where the user's commands can start (a user manager moves
    only processes of its own subtree into its scopes).  stop() undoes it."""

    def __init__(self, user):
        self.user = user
        self.dropin = "/run/systemd/system/user@%d.service.d" % user.uid
        os.makedirs(self.dropin)
        with open(os.path.join(self.dropin, "pyrunc-test.conf"), "w") as f:
            f.write("[Service]\nEnvironment=XDG_RUNTIME_DIR=%s\n" % user.xdg)
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        self.unit = "user@%d.service" % user.uid
        subprocess.run(["systemctl", "start", self.unit], check=True, timeout=60)
        service = "/sys/fs/cgroup/user.slice/user-%d.slice/%s" % (user.uid, self.unit)
        self.launch = os.path.join(service, "pyrunc-test-launch")
        os.mkdir(self.launch)
        os.chown(self.launch, user.uid, user.gid)
        os.chown(os.path.join(self.launch, "cgroup.procs"), user.uid, user.gid)

    def command(self, argv):
        """argv as the user, started inside its manager's subtree."""
        script = 'echo $$ > %s/cgroup.procs && exec setpriv --reuid=%d --regid=%d ' \
                 '--clear-groups "$@"' % (self.launch, self.user.uid, self.user.gid)
        return ["sh", "-c", script, "sh"] + list(argv)

    def stop(self):
        subprocess.run(["systemctl", "stop", self.unit], timeout=60)
        shutil.rmtree(self.dropin)
        subprocess.run(["systemctl", "daemon-reload"], check=True)

