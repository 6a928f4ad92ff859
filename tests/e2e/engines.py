"""Container engines for the end-to-end tests: dockerd (with its client),
podman (with conmon) and containerd (driven with ctr, through the
io.containerd.runc.v2 shim), each with private roots, sockets and cgroup
parents under one temporary directory, each calling the runtime under test
through a small wrapper that logs the runtime's command lines and keeps its
--log files.

Every engine offers the same few verbs (run, exec, stop, kill, pause, ...)
so that one scenario runs against all three; what differs is only the
command line.  Nothing here touches anything outside the temporary
directory except what the engines themselves insist on (see HOST_PATHS).
"""
import copy
import fcntl
import json
import os
import re
import resource
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import termios
import time

# Paths outside our temporary directory that the engines create whatever
# their flags say (containerd's shim sockets, podman's blob-info cache, ...).
# The session removes those it created.
HOST_PATHS = [
    "/etc/docker/key.json",             # dockerd 20.10's trust key (daemon.json moves it)
    "/run/docker",                      # dockerd: plugins dir
    "/run/containerd",                  # containerd 1.6: shim sockets in /run/containerd/s
    "/var/lib/containers",              # podman load: blob-info cache
    "/run/containers",                  # podman: network lock dir
    "/etc/containers/networks",         # podman: netavark lock
    "/etc/cni/net.d/cni.lock",          # podman: cni lock
    "/opt/containerd",                  # containerd's "opt" plugin
]

IMAGE = "localhost/pyrunc-busybox:e2e"
TAIL = 6000  # characters of a log shown in a failure report


class Result:
    """One engine command: what ran and what it said."""

    def __init__(self, cmd, rc, out, err):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err

    def __str__(self):
        return "$ %s\nexit status: %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            shlex.join(self.cmd), self.rc, _tail(self.out), _tail(self.err))

    def __repr__(self):
        return "<Result %s of %s>" % (self.rc, shlex.join(self.cmd)[:80])


def _tail(text, n=TAIL):
    return text if len(text) <= n else "[... %d characters cut ...]\n%s" % (len(text) - n, text[-n:])


def run(cmd, env=None, timeout=60, input=None):
    """Run cmd; stdout and stderr go through files, not pipes, since a
    detached container may keep a pipe open long after the client exits."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        kw = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        try:
            rc = subprocess.run(cmd, stdout=out, stderr=err, env=env, text=True,
                                timeout=timeout, **kw).returncode
            note = ""
        except subprocess.TimeoutExpired:
            rc, note = None, "\n[e2e: killed after %ss]" % timeout
        out.seek(0)
        err.seek(0)
        return Result(cmd, rc, out.read(), err.read() + note)


def _set_ctty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_pty(cmd, env=None, timeout=60):
    """Run cmd with a new pseudo-terminal as its controlling terminal and
    stdio (as a person at a terminal would); Result.out is all it wrote."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                start_new_session=True, preexec_fn=_set_ctty)
    finally:
        os.close(slave)
    chunks, deadline, note = [], time.monotonic() + timeout, ""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                note = "\n[e2e: killed after %ss]" % timeout
                break
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every holder of the other side is gone
                    break
                if not data:
                    break
                chunks.append(data)
    finally:
        os.close(master)
    rc = proc.wait()
    return Result(cmd, rc, b"".join(chunks).decode(errors="replace"), note)


def start_daemon(argv, log, env):
    logf = open(log, "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    finally:
        logf.close()


def stop_daemon(proc, timeout=30):
    """SIGTERM the daemon we started, SIGKILL it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(0.2)
    raise RuntimeError("%s: not ready after %ss%s" % (what, timeout, "" if last in (None, False) else
                                                       "\n%s" % last))


def runtime_default_root(runtime):
    """The state directory a runtime uses without --root (podman relies on
    it), from its --help: runc `(default: "/run/runc")`, pyrunc
    `[default: /run/pyrunc]`."""
    r = run([runtime, "--help"], timeout=30)
    m = re.search(r"--root\b[^\n]*(?:\n[^\n-][^\n]*)*?default:\s*\"?([^\"\]\)\s]+)", r.out + r.err)
    return m.group(1) if m else "/run/" + os.path.basename(runtime)


WRAPPER = r"""#!/bin/bash
# e2e: how %(engine)s calls the runtime.  Logs the command line (with the
# caller's name), keeps a hard link to the --log file (engines delete the
# bundle, and the log with it), then execs the runtime under test.
log= prev=
for a in "$@"; do
    [ "$prev" = --log ] && log=$a
    case $a in --log=*) log=${a#--log=} ;; esac
    prev=$a
done
read -r caller < /proc/$PPID/comm
printf '%%s %%s %%s\n' "$EPOCHREALTIME" "$caller" "$(printf '%%q ' "$@")" >> %(argv_log)s
if [ -n "$log" ]; then
    keep=%(logs)s/${log//\//%%}
    if [ ! -e "$keep" ]; then { : >> "$log" && ln -f "$log" "$keep"; } 2>/dev/null; fi
fi
exec %(runtime)s "$@"
"""


def trace(request, engine):
    """Have a failing test's report carry what `engine` did meanwhile."""
    request.node._e2e_trace = (engine, engine.mark())


class Host:
    """What the engines leave on the machine: mounts, cgroup directories,
    runtime state directories and processes, all restricted to what is ours
    (our temporary directory, our cgroup parents, our runtime roots)."""

    def __init__(self, base, cgroup_parents, state_dirs, argv_logs):
        self.base = base
        self.cgroup_parents = list(cgroup_parents)
        self.state_dirs = list(state_dirs)
        self.argv_logs = list(argv_logs)

    def console_sockets(self):
        """The --console-socket paths our engines gave the runtime that are
        still there (conmon makes its socket in /tmp, whatever TMPDIR says,
        and leaves it when the runtime's create fails)."""
        found = set()
        for p in self.argv_logs:
            try:
                with open(p, errors="replace") as f:
                    for line in f:
                        argv = line.split()
                        for i, a in enumerate(argv[:-1]):
                            if a == "--console-socket" and os.path.lexists(argv[i + 1]):
                                found.add(argv[i + 1])
            except OSError:
                pass
        return found

    def our_ids(self):
        """The container ids our engines gave the runtime (podman's state is
        in the runtime's default root, which others may use too; and a
        runtime may keep files of its own there, e.g. pyrunc's
        .seccomp-cache)."""
        ids = set()
        for p in self.argv_logs:
            try:
                with open(p, errors="replace") as f:
                    for line in f:
                        argv = line.split()
                        if "create" in argv:
                            ids.add(argv[-1])
            except OSError:
                pass
        return ids

    @staticmethod
    def _mountinfo():
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                yield fields[4], fields[sep + 1], fields[sep + 2], line.strip()

    def mounts(self):
        return {"%s (%s %s)" % (point, fstype, source)
                for point, fstype, source, _ in self._mountinfo() if point.startswith(self.base)}

    def cgroup_mounts(self):
        return sorted({point for point, fstype, _, _ in self._mountinfo()
                       if fstype in ("cgroup", "cgroup2") and point.startswith("/sys/fs/cgroup")})

    def cgroups(self):
        """The cgroup directories under our parents (not the parents
        themselves, nor podman's conmon cgroup in its parent: the engines'
        own, made once and kept)."""
        found = set()
        for mnt in self.cgroup_mounts():
            for parent in self.cgroup_parents:
                top = os.path.join(mnt, parent)
                for dirpath, _, _ in os.walk(top):
                    if dirpath not in (top, os.path.join(top, "conmon")):
                        found.add(dirpath)
        return found

    def states(self):
        found = set()
        ids = self.our_ids()
        for d in self.state_dirs:
            try:
                names = os.listdir(d)
            except OSError:
                continue
            found.update(os.path.join(d, n) for n in names if n in ids)
        return found

    def processes(self):
        found = set()
        marks = ["/%s/" % p for p in self.cgroup_parents] + ["/%s\n" % p for p in self.cgroup_parents]
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue  # reaped by whoever is its parent (the host's init is slow)
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                with open("/proc/%s/cgroup" % pid) as f:
                    cgroup = f.read()
            except (OSError, IndexError):
                continue
            if self.base in cmdline or any(m in cgroup for m in marks):
                found.add("%s %s" % (pid, cmdline[:300]))
        return found

    def snapshot(self):
        return {"mounts": self.mounts(), "cgroups": self.cgroups(), "states": self.states(),
                "processes": self.processes(), "console sockets": self.console_sockets()}

    def new_since(self, before):
        now = self.snapshot()
        return {k: sorted(now[k] - before[k]) for k in now if now[k] - before[k]}

    def wait_clean(self, before, timeout=20):
        """What is new since `before` and still there after `timeout`
        seconds (engines clean up asynchronously: podman's cleanup process,
        containerd's shim exit)."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.new_since(before)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.25)


class Engine:
    """Common parts: the runtime wrapper, logs, failure context."""

    name = None
    binaries = ()

    def __init__(self, session):
        self.s = session
        self.dir = os.path.join(session.base, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.parent = "pyrunc-e2e-%s-%s" % (session.tag, self.name)
        self.argv_log = os.path.join(session.base, "argv", self.name + ".log")
        self.rtlogs = os.path.join(session.base, "rtlogs", self.name)
        os.makedirs(os.path.dirname(self.argv_log), exist_ok=True)
        os.makedirs(self.rtlogs, exist_ok=True)
        self.wrapper = os.path.join(session.base, "wrap", self.name, os.path.basename(session.runtime))
        os.makedirs(os.path.dirname(self.wrapper), exist_ok=True)
        with open(self.wrapper, "w") as f:
            f.write(WRAPPER % {"engine": self.name, "argv_log": shlex.quote(self.argv_log),
                               "logs": shlex.quote(self.rtlogs),
                               "runtime": shlex.quote(session.runtime)})
        os.chmod(self.wrapper, 0o755)
        self.daemon_logs = []
        self.n = 0
        self.names = []  # containers named during the current test
        self.env = dict(os.environ, TMPDIR=session.tmpdir)

    # -- availability ---------------------------------------------------

    @classmethod
    def missing(cls):
        def found(b):
            return os.access(b, os.X_OK) if os.path.isabs(b) else shutil.which(b) is not None
        return [b for b in cls.binaries if not found(b)]

    # -- names and commands ---------------------------------------------

    def new_name(self):
        self.n += 1
        name = "e2e-%s-%d" % (self.s.tag, self.n)
        self.names.append(name)
        return name

    def cleanup(self, names):
        """Remove those of `names` that still exist (a test's containers)."""
        existing = set(self.list_names())
        for name in names:
            if name in existing:
                self.remove(name)

    def cmd(self, args, timeout=60, input=None):
        return run(self.base_cmd() + list(args), env=self.env, timeout=timeout, input=input)

    def popen(self, args):
        """A foreground command (e.g. run without -d) left running; its
        output goes to files read by finish()."""
        out = tempfile.TemporaryFile("w+")
        err = tempfile.TemporaryFile("w+")
        cmd = self.base_cmd() + list(args)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self.env,
                                text=True)
        proc.e2e = (cmd, out, err)
        return proc

    @staticmethod
    def finish(proc, timeout=60):
        cmd, out, err = proc.e2e
        try:
            rc = proc.wait(timeout)
            note = ""
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            note = "\n[e2e: killed after %ss]" % timeout
        out.seek(0)
        err.seek(0)
        r = Result(cmd, rc, out.read(), err.read() + note)
        out.close()
        err.close()
        return r

    # -- failure context ------------------------------------------------

    def _rtlog_sizes(self):
        sizes = {}
        try:
            names = os.listdir(self.rtlogs)
        except OSError:
            names = []
        for name in names:
            try:
                sizes[os.path.join(self.rtlogs, name)] = os.path.getsize(os.path.join(self.rtlogs, name))
            except OSError:
                pass
        return sizes

    def mark(self):
        sizes = {}
        for p in [self.argv_log] + self.daemon_logs:
            try:
                sizes[p] = os.path.getsize(p)
            except OSError:
                sizes[p] = 0
        return {"logs": sizes, "rtlogs": self._rtlog_sizes()}

    @staticmethod
    def _read_from(path, offset):
        try:
            with open(path, errors="replace") as f:
                f.seek(offset)
                return f.read()
        except OSError:
            return ""

    def trace(self, mark):
        """What was written since `mark`: the runtime's command lines, its
        --log files and the daemons' logs (the context of a failure)."""
        parts = []
        for p, size in mark["logs"].items():
            text = self._read_from(p, size)
            if text:
                title = "runtime calls (%s)" % p if p == self.argv_log else "daemon log (%s)" % p
                parts.append("--- %s ---\n%s" % (title, _tail(text)))
        for p, size in sorted(self._rtlog_sizes().items()):
            text = self._read_from(p, mark["rtlogs"].get(p, 0))
            if text:
                name = os.path.basename(p).replace("%", "/")
                parts.append("--- runtime --log %s ---\n%s" % (name, _tail(text, 3000)))
        return "\n".join(parts) or "(no runtime calls logged)"

    def host(self):
        return Host(self.s.base, [self.parent], self.state_dirs(), [self.argv_log])

    # -- to be provided -------------------------------------------------

    def base_cmd(self):
        raise NotImplementedError

    def state_dirs(self):
        raise NotImplementedError


class DockerEngine(Engine):
    """dockerd 20.10 on the containerd of ContainerdEngine (namespace
    moby), with the runtime registered as `pyrunc`."""

    name = "docker"
    # /usr/local/bin/docker on this machine is a docker 28 client: Debian's
    # matches the daemon (PYRUNC_E2E_DOCKER picks another)
    client = os.environ.get("PYRUNC_E2E_DOCKER", "/usr/bin/docker")
    binaries = ("dockerd", client)
    runtime_name = "pyrunc"

    def __init__(self, session, containerd):
        super().__init__(session)
        self.containerd = containerd
        d = self.dir
        self.sock = os.path.join(d, "docker.sock")
        self.exec_root = os.path.join(d, "exec")
        self.log = os.path.join(d, "dockerd.log")
        self.daemon_logs = [self.log, containerd.log]
        with open(os.path.join(d, "daemon.json"), "w") as f:
            # dockerd 20.10 would write its trust key to /etc/docker/key.json
            json.dump({"deprecated-key-path": os.path.join(d, "key.json")}, f)
        self.env.update(DOCKER_HOST="unix://" + self.sock, DOCKER_CONFIG=os.path.join(d, "client"))
        self.argv = [
            "dockerd",
            "--config-file", os.path.join(d, "daemon.json"),
            "--data-root", os.path.join(d, "data"),
            "--exec-root", self.exec_root,
            "--pidfile", os.path.join(d, "dockerd.pid"),
            "-H", "unix://" + self.sock,
            "--containerd", containerd.sock,
            "--containerd-namespace", "moby",
            "--containerd-plugins-namespace", "plugins.moby",
            "--iptables=false", "--ip-masq=false", "--bridge=none", "--userland-proxy=false",
            "--exec-opt", "native.cgroupdriver=cgroupfs",
            "--cgroup-parent", "/" + self.parent,
            "--add-runtime", "%s=%s" % (self.runtime_name, self.wrapper),
        ]
        self.proc = None

    def start(self):
        self.proc = start_daemon(self.argv, self.log, self.env)
        wait_for(self._ready, 60, "dockerd")
        r = self.cmd(["load", "-i", self.s.image()], timeout=120)
        if r.rc != 0:
            raise RuntimeError("docker load failed\n%s" % r)

    def _log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-TAIL:]
        except OSError:
            return ""

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("dockerd exited with %s\n%s" % (self.proc.returncode, self._log_tail()))
        r = self.cmd(["version"], timeout=10)
        return True if r.rc == 0 else str(r)

    def stop_engine(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            ids = self.cmd(["ps", "-aq"]).out.split()
            if ids:
                self.cmd(["rm", "-f"] + ids, timeout=120)
        stop_daemon(self.proc)

    def base_cmd(self):
        return [self.client]

    def state_dirs(self):
        # dockerd gives the shim this --root for every runtime it adds
        root = os.path.join(self.exec_root, "runtime-runc")
        return [os.path.join(root, "moby"), root]

    # -- verbs ------------------------------------------------------------

    def run_args(self, args, *, name, rm=True, detach=False, tty=False, env=(), workdir=None,
                 user=None, read_only=False, binds=(), tmpfs=(), memory=None, pids=None,
                 hostname=None, cap_drop_all=False, seccomp=True):
        a = ["run", "--network", "none"] + self.runtime_args() + ["--name", name]
        if rm:
            a.append("--rm")
        if detach:
            a.append("-d")
        if tty:
            a.append("-t")
        for e in env:
            a += ["-e", e]
        if workdir:
            a += ["-w", workdir]
        if user:
            a += ["--user", user]
        if read_only:
            a.append("--read-only")
        for src, dst in binds:
            a += ["-v", "%s:%s" % (src, dst)]
        for dst in tmpfs:
            a += ["--tmpfs", dst]
        if memory:
            a += ["--memory", str(memory)]
        if pids:
            a += ["--pids-limit", str(pids)]
        if hostname:
            a += ["--hostname", hostname]
        if cap_drop_all:
            a += ["--cap-drop", "ALL"]
        if not seccomp:
            a += ["--security-opt", "seccomp=unconfined"]
        return a + [IMAGE] + list(args)

    def runtime_args(self):
        return ["--runtime", self.runtime_name]

    def exec_args(self, name, args, tty=False):
        return ["exec"] + (["-t"] if tty else []) + [name] + list(args)

    def stop(self, name):
        return self.cmd(["stop", "-t", "10", name], timeout=60)

    def kill(self, name):
        return self.cmd(["kill", name])

    def pause(self, name):
        return self.cmd(["pause", name])

    def unpause(self, name):
        return self.cmd(["unpause", name])

    def status(self, name):
        r = self.cmd(["inspect", "-f", "{{.State.Status}}", name])
        return r.out.strip() if r.rc == 0 else "unknown: %s" % r

    def remove(self, name):
        return self.cmd(["rm", "-f", name], timeout=60)

    def list_names(self):
        return self.cmd(["ps", "-a", "--format", "{{.Names}}"]).out.split()


class PodmanEngine(Engine):
    """podman 4.3 with conmon, cgroupfs, private --root/--runroot/--tmpdir,
    the runtime by path.  podman passes the runtime no --root (its
    container cleanup process, which calls `delete`, would not get a
    --runtime-flag), so the runtime's default root is used."""

    name = "podman"
    binaries = ("podman", "conmon")
    JSON_RUNTIMES = ["crun", "runc", "kata", "runsc", "youki", "krun"]

    def __init__(self, session):
        super().__init__(session)
        d = self.dir
        self.root = os.path.join(d, "root")
        self.runroot = os.path.join(d, "runroot")
        self.tmp = os.path.join(d, "tmp")
        self.default_root = session.runtime_root
        conf = os.path.join(d, "containers.conf")
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        # podman caps its own RLIMIT_NPROC at 32768 (hard); asking the
        # container for more is refused without CAP_SYS_RESOURCE
        nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
        runtime_name = os.path.basename(self.wrapper)
        supports_json = self.JSON_RUNTIMES + [runtime_name] * (runtime_name not in self.JSON_RUNTIMES)
        with open(conf, "w") as f:
            f.write(
                "# e2e: podman without systemd, as root without CAP_SYS_RESOURCE\n"
                "[containers]\n"
                "default_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]\n"
                "log_driver = \"k8s-file\"\n"
                "netns = \"none\"\n"
                "[engine]\n"
                "cgroup_manager = \"cgroupfs\"\n"
                "events_logger = \"file\"\n"
                "# the runtime takes --log-format json (so podman passes --log)\n"
                "runtime_supports_json = %s\n"
                "[network]\n"
                "network_backend = \"cni\"\n"
                "network_config_dir = \"%s\"\n"
                % (nofile, nofile, nproc, nproc, json.dumps(supports_json), os.path.join(d, "networks")))
        storage = os.path.join(d, "storage.conf")
        with open(storage, "w") as f:
            f.write("[storage]\ndriver = \"overlay\"\nrunroot = \"%s\"\ngraphroot = \"%s\"\n"
                    % (self.runroot, self.root))
        self.env.update(CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)
        self.globals = ["podman", "--root", self.root, "--runroot", self.runroot, "--tmpdir", self.tmp,
                        "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                        "--events-backend", "file", "--runtime", self.wrapper]
        self.loaded = False

    def start(self):
        r = self.cmd(["load", "-i", self.s.image()], timeout=120)
        if r.rc != 0:
            raise RuntimeError("podman load failed\n%s" % r)
        self.loaded = True

    def stop_engine(self):
        if not self.loaded:
            return
        self.cmd(["rm", "-a", "-f", "-t", "0"], timeout=120)
        self.cmd(["rmi", "-a", "-f"], timeout=120)

    def base_cmd(self):
        return list(self.globals)

    def state_dirs(self):
        return [self.default_root]

    run_args = DockerEngine.run_args

    def runtime_args(self):
        # the runtime is podman's global --runtime PATH; the cgroup parent is per container
        return ["--cgroup-parent", "/" + self.parent]

    exec_args = DockerEngine.exec_args
    stop = DockerEngine.stop
    kill = DockerEngine.kill
    pause = DockerEngine.pause
    unpause = DockerEngine.unpause
    status = DockerEngine.status

    def remove(self, name):
        return self.cmd(["rm", "-f", "-t", "0", name], timeout=60)

    list_names = DockerEngine.list_names


class ContainerdEngine(Engine):
    """containerd 1.6 with a private config (no CRI), driven by ctr in
    namespace e2e: `ctr run --runc-binary WRAPPER --runc-root ROOT`, the
    io.containerd.runc.v2 shim calling the runtime as Kubernetes does.
    ctr 1.6 has no --user, --hostname or pids flag: runs asking for those
    use `ctr run --config SPEC` with the image's rootfs unpacked."""

    name = "containerd"
    binaries = ("containerd", "ctr", "containerd-shim-runc-v2")
    namespace = "e2e"

    def __init__(self, session):
        super().__init__(session)
        d = self.dir
        self.sock = os.path.join(d, "containerd.sock")
        self.log = os.path.join(d, "containerd.log")
        self.daemon_logs = [self.log]
        self.runc_root = os.path.join(d, "runtime")
        self.fifo = os.path.join(d, "fifo")
        self.config = os.path.join(d, "config.toml")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "version = 2",
                'root = "%s"' % os.path.join(d, "root"),
                'state = "%s"' % os.path.join(d, "state"),
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                "[grpc]", '  address = "%s"' % self.sock,
                "[ttrpc]", '  address = "%s.ttrpc"' % self.sock,
                "[debug]", '  address = "%s"' % os.path.join(d, "debug.sock"),
                "[metrics]", '  address = ""',
                '[plugins."io.containerd.internal.v1.opt"]', '  path = "%s"' % os.path.join(d, "opt"),
                ""]))
        self.proc = None
        self.spec_template = None

    def start(self):
        self.proc = start_daemon(["containerd", "--config", self.config], self.log, self.env)
        wait_for(self._ready, 60, "containerd")

    def load_image(self):
        r = self.cmd(["image", "import", self.s.image()], timeout=120)
        if r.rc != 0:
            raise RuntimeError("ctr image import failed\n%s" % r)
        r = self.cmd(["oci", "spec"])
        if r.rc != 0:
            raise RuntimeError("ctr oci spec failed\n%s" % r)
        self.spec_template = json.loads(r.out)

    def _ready(self):
        if self.proc.poll() is not None:
            with open(self.log, errors="replace") as f:
                raise RuntimeError("containerd exited with %s\n%s" % (self.proc.returncode,
                                                                     f.read()[-TAIL:]))
        r = self.cmd(["version"], timeout=10)
        return True if r.rc == 0 else str(r)

    def stop_engine(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for ns in (self.namespace, "moby"):
                for cid in run(self.ctr_cmd(ns) + ["containers", "ls", "-q"], env=self.env).out.split():
                    run(self.ctr_cmd(ns) + ["task", "delete", "-f", cid], env=self.env)
                    run(self.ctr_cmd(ns) + ["containers", "rm", cid], env=self.env)
        stop_daemon(self.proc)

    def ctr_cmd(self, namespace=None):
        return ["ctr", "--address", self.sock, "--namespace", namespace or self.namespace]

    def base_cmd(self):
        return self.ctr_cmd()

    def state_dirs(self):
        return [os.path.join(self.runc_root, self.namespace), self.runc_root]

    # -- verbs ------------------------------------------------------------

    def run_args(self, args, *, name, rm=True, detach=False, tty=False, env=(), workdir=None,
                 user=None, read_only=False, binds=(), tmpfs=(), memory=None, pids=None,
                 hostname=None, cap_drop_all=False, seccomp=True):
        a = ["run", "--fifo-dir", self.fifo, "--runc-binary", self.wrapper, "--runc-root", self.runc_root]
        if rm:
            a.append("--rm")
        if detach:
            a.append("-d")
        if tty:
            a.append("-t")
        if user or hostname or pids:
            spec = self.config_spec(args, name=name, tty=tty, env=env, workdir=workdir, user=user,
                                    read_only=read_only, binds=binds, tmpfs=tmpfs, memory=memory,
                                    pids=pids, hostname=hostname, cap_drop_all=cap_drop_all)
            path = os.path.join(self.dir, "spec-%s.json" % name)
            with open(path, "w") as f:
                json.dump(spec, f, indent=1)
            return a + ["--config", path, name]
        a += ["--cgroup", "/%s/%s" % (self.parent, name)]
        for e in env:
            a += ["--env", e]
        if workdir:
            a += ["--cwd", workdir]
        if read_only:
            a.append("--read-only")
        for src, dst in binds:
            a += ["--mount", "type=bind,src=%s,dst=%s,options=rbind:rw" % (src, dst)]
        for dst in tmpfs:
            a += ["--mount", "type=tmpfs,src=tmpfs,dst=%s,options=nosuid:nodev:mode=1777" % dst]
        if memory:
            a += ["--memory-limit", str(_bytes(memory))]
        if cap_drop_all:
            # ctr 1.6 takes no ALL: every capability of its default set, by name
            for cap in self.spec_template["process"]["capabilities"]["bounding"]:
                a += ["--cap-drop", cap]
        if seccomp:
            a.append("--seccomp")
        return a + [IMAGE, name] + list(args)

    def config_spec(self, args, *, name, tty, env, workdir, user, read_only, binds, tmpfs, memory,
                    pids, hostname, cap_drop_all):
        """An OCI spec for `ctr run --config`: ctr's default (`ctr oci
        spec`) with the image's rootfs, its PATH and the cgroup mount a
        container engine adds."""
        spec = copy.deepcopy(self.spec_template)
        proc = spec["process"]
        proc["args"] = list(args)
        proc["terminal"] = bool(tty)
        proc["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + list(env)
        proc["cwd"] = workdir or "/"
        if user:
            uid, _, gid = user.partition(":")
            proc["user"] = {"uid": int(uid), "gid": int(gid or uid)}
        if cap_drop_all:
            proc["capabilities"] = {k: [] for k in proc.get("capabilities", {})}
        spec["root"] = {"path": self.s.rootfs(), "readonly": True}
        if hostname:
            spec["hostname"] = hostname
        mounts = spec.setdefault("mounts", [])
        mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["ro", "nosuid", "noexec", "nodev"]})
        for src, dst in binds:
            mounts.append({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rw"]})
        for dst in tmpfs:
            mounts.append({"destination": dst, "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777"]})
        linux = spec.setdefault("linux", {})
        linux["cgroupsPath"] = "/%s/%s" % (self.parent, name)
        res = linux.setdefault("resources", {})
        if memory:
            res["memory"] = {"limit": _bytes(memory)}
        if pids:
            res["pids"] = {"limit": int(pids)}
        if not read_only:
            # the unpacked rootfs is shared by these runs: keep it read-only
            # and give the writes a tmpfs
            mounts.append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777"]})
        return spec

    def exec_args(self, name, args, tty=False):
        self.n += 1
        return (["task", "exec", "--fifo-dir", self.fifo, "--exec-id", "exec%d" % self.n]
                + (["-t"] if tty else []) + [name] + list(args))

    def stop(self, name):
        return self.cmd(["task", "kill", "-s", "SIGTERM", name])

    def kill(self, name):
        return self.cmd(["task", "kill", "-s", "SIGKILL", name])

    def pause(self, name):
        return self.cmd(["task", "pause", name])

    def unpause(self, name):
        return self.cmd(["task", "resume", name])

    def status(self, name):
        r = self.cmd(["task", "ls"])
        for line in r.out.splitlines()[1:]:
            f = line.split()
            if f and f[0] == name:
                return f[-1].lower()
        return "unknown: %s" % r

    def remove(self, name):
        r = self.cmd(["task", "delete", "-f", name], timeout=60)
        r2 = self.cmd(["containers", "rm", name], timeout=60)
        r.out += r2.out
        r.err += r2.err
        return r

    def list_names(self):
        return self.cmd(["containers", "ls", "-q"]).out.split()


def _bytes(size):
    m = re.fullmatch(r"(\d+)([kmg]?)b?", str(size).lower())
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2)]
