"""The `pyrunc` command line, runc-compatible.
(One module of ~600 lines: the table of runc's commands and flags, its
parser and the thin handlers beside it, read together.)

One table below describes every command and flag.  A small parser reads it
on every call: importing click costs more than runc's whole `create`, so
click is only imported to render --help from the same table (clihelp.py).
Handlers are thin: parse, call the library (runtime.py), print, map errors
to exit codes.
"""
from __future__ import annotations

import gc
import os
import sys

from . import __version__ as VERSION
from ._statedir import DEFAULT_ROOT
from .errors import BadArgument, PyruncError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping, NoReturn

    from .container import Container
    from .events import Event
    from .log import Logger
    from .runtime import Runtime


class Opt:
    __slots__ = ("dest", "names", "metavar", "kind", "default", "help", "choices", "repeat")

    def __init__(self, names: list[str], dest: str, help: str, metavar: str | None = None,
                 kind: Callable[[str], object] = str, default: object = None,
                 choices: tuple[str, ...] | None = None, repeat: bool = False) -> None:
        self.names = names
        self.dest = dest
        self.metavar = metavar      # None: a boolean flag
        self.kind = kind
        self.default = default if default is not None or metavar else False
        self.help = help
        self.choices = choices
        self.repeat = repeat        # may be given many times: a list


class Cmd:
    __slots__ = ("name", "help", "_opts", "args", "handler", "raw_tail")

    def __init__(self, name: str, help: str, opts: list[Opt] | Callable[[], list[Opt]],
                 args: list[tuple[str, bool]],
                 handler: Callable[[Args, Args, list[str]], int], raw_tail: bool = False) -> None:
        self.name = name
        self.help = help
        # (a function: the flags are made when the command is used)
        self._opts = opts
        self.args = args            # [(name, required)]
        self.handler = handler
        # flags only before the first argument; the rest is passed on as
        # it is (ps ID -ef)
        self.raw_tail = raw_tail

    @property
    def opts(self) -> list[Opt]:
        if callable(self._opts):
            self._opts = self._opts()
        return self._opts


class UsageError(Exception):
    """A malformed command line.  `flags` are the global flags parsed so
    far: --log gets the error too (engines read it there)."""

    flags: Args | None = None


class HelpRequested(Exception):
    def __init__(self, cmd: str | None = None) -> None:
        super().__init__(cmd)
        self.cmd = cmd


class Args:
    """Parsed flags as attributes."""

    if TYPE_CHECKING:
        # The attributes are the dests of the table's options (set by
        # __init__ and the parser, from the table): mypy cannot know them,
        # so each is Any.  logger is set by main(), on the global flags.
        logger: Logger

        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, opts: Iterable[Opt]) -> None:
        for o in opts:
            setattr(self, o.dest, [] if o.repeat else o.default)


def _uint(text: str) -> int:
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


# -- handlers --------------------------------------------------------------

def _runtime(g: Args) -> Runtime:
    from .runtime import Runtime
    return Runtime(g.root, logger=g.logger, systemd_cgroup=g.systemd_cgroup, subreaper=True,
                   listen_fds=listen_fds(os.environ, os.getpid()), rootless=g.rootless_global)


def _container(g: Args, cid: str) -> Container:
    # (a typed name for the untyped Runtime.container(): no-any-return)
    c: Container = _runtime(g).container(cid)
    return c


def listen_fds(environ: Mapping[str, str], pid: int) -> int:
    """sd_listen_fds(3): the fds systemd passed to this very process."""
    count = environ.get("LISTEN_FDS", "")
    if environ.get("LISTEN_PID") != str(pid) or not count.isdigit():
        return 0
    return int(count)


def cmd_create(g: Args, o: Args, a: list[str]) -> int:
    _runtime(g).create(a[0], o.bundle, pid_file=o.pid_file, no_pivot=o.no_pivot,
                       no_new_keyring=o.no_new_keyring, preserve_fds=o.preserve_fds,
                       console_socket=o.console_socket)
    return 0


def cmd_run(g: Args, o: Args, a: list[str]) -> int:
    rt = _runtime(g)
    rt.subreaper = not o.no_subreaper
    # (a typed name for the untyped Runtime.run(): no-any-return)
    status: int = rt.run(a[0], o.bundle, pid_file=o.pid_file, no_pivot=o.no_pivot,
                         no_new_keyring=o.no_new_keyring, preserve_fds=o.preserve_fds,
                         detach=o.detach, console_socket=o.console_socket, keep=o.keep,
                         forward_signals=True)
    return status


class ExecFailed(PyruncError):
    """runc's `exec failed: ...`, exit status 255: the process did not
    start (Podman maps the words to 126 and 127)."""

    exit_code = 255


def cmd_exec(g: Args, o: Args, a: list[str]) -> int:
    """Every failure of runc's exec is `exec failed: ...` with status 255."""
    from .errors import SpawnError
    c = _container(g, a[0])
    common = dict(detach=o.detach, pid_file=o.pid_file, console_socket=o.console_socket,
                  preserve_fds=o.preserve_fds, ignore_paused=o.ignore_paused, cgroup=o.cgroup,
                  forward_signals=True)
    try:
        if o.process:
            from .processes import load_process_file
            status = c.exec(process=load_process_file(o.process), **common)
        else:
            status = c.exec(a[1:], tty=o.tty, env=o.env, cwd=o.cwd, user=o.user,
                            additional_gids=o.additional_gids, caps=o.cap,
                            no_new_privileges=o.no_new_privs, apparmor=o.apparmor,
                            selinux_label=o.process_label, **common)
    except SpawnError as e:
        raise ExecFailed("exec failed: unable to start container process: %s" % e) from None
    except PyruncError as e:
        raise ExecFailed("exec failed: %s" % e) from None
    return 0 if o.detach else status


def cmd_start(g: Args, o: Args, a: list[str]) -> int:
    _container(g, a[0]).start()
    return 0


def cmd_state(g: Args, o: Args, a: list[str]) -> int:
    from .jsonio import dumps
    sys.stdout.write(dumps(_container(g, a[0]).state().to_dict(), indent=2) + "\n")
    return 0


def cmd_kill(g: Args, o: Args, a: list[str]) -> int:
    # (Container.kill reads the name, and refuses one it does not know)
    _container(g, a[0]).kill(a[1] if len(a) > 1 else "SIGTERM", all=o.all)
    return 0


def cmd_delete(g: Args, o: Args, a: list[str]) -> int:
    _container(g, a[0]).delete(force=o.force)
    return 0


def cmd_list(g: Args, o: Args, a: list[str]) -> int:
    states = [s.to_dict() for s in _runtime(g).states()]
    if o.quiet:
        sys.stdout.write("".join(s["id"] + "\n" for s in states))
    elif o.format == "json":
        from .jsonio import dumps
        sys.stdout.write(dumps(states) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"],
                  s.get("owner") or "root") for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for r in rows:
            sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")
    return 0


def cmd_pause(g: Args, o: Args, a: list[str]) -> int:
    _container(g, a[0]).pause()
    return 0


def cmd_resume(g: Args, o: Args, a: list[str]) -> int:
    _container(g, a[0]).resume()
    return 0


def cmd_update(g: Args, o: Args, a: list[str]) -> int:
    """--resources FILE|- (the other flags are then ignored, as by runc),
    else runc's flags."""
    c = _container(g, a[0])
    if o.resources:
        from .update import resources_from_json
        if o.resources == "-":
            from .bundle import MAX_CONFIG_SIZE
            # (one byte more than allowed, for parse_json to refuse)
            data = sys.stdin.buffer.read(MAX_CONFIG_SIZE + 1)
            c.update(resources_from_json(data, "--resources"))
        else:
            from .bundle import read_file
            name = "--resources %s" % o.resources
            c.update(resources_from_json(read_file(o.resources, name), name))
        return 0
    from .update import UPDATE_FLAGS
    flags = {dest: getattr(o, dest) for dest in UPDATE_FLAGS}
    c.update(l3_cache_schema=o.l3_cache_schema, mem_bw_schema=o.mem_bw_schema, **flags)
    return 0


def cmd_ps(g: Args, o: Args, a: list[str]) -> int:
    c = _container(g, a[0])
    if o.format == "json":
        from .jsonio import dumps
        sys.stdout.write(dumps(c.pids()) + "\n")
        return 0
    sys.stdout.write("".join(line + "\n" for line in c.ps(a[1:] or ["-ef"])))
    return 0


def parse_duration(text: str) -> float:
    """Go's durations as runc takes them: 5s, 100ms, 1m30s, 2h."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    total, number, i = 0.0, "", 0
    while i < len(text):
        c = text[i]
        if c.isdigit() or c == ".":
            number += c
            i += 1
            continue
        unit = next((u for u in ("ns", "us", "µs", "ms", "s", "m", "h")
                     if text.startswith(u, i)), None)
        if unit is None or not number:
            raise BadArgument("invalid duration %r" % text)
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    if number or total <= 0:
        raise BadArgument("invalid duration %r (e.g. 5s, 500ms)" % text)
    return total


def cmd_events(g: Args, o: Args, a: list[str]) -> int:
    from .jsonio import dumps
    gc.enable()     # (main turns it off for short calls; this one lives on)
    interval = parse_duration(o.interval)

    def emit(event: Event) -> None:
        sys.stdout.write(dumps(event) + "\n")
        sys.stdout.flush()
    c = _container(g, a[0])
    if o.stats:
        emit({"type": "stats", "id": c.id, "data": c.stats()})
    else:
        c.events(emit, interval)
    return 0


def cmd_features(g: Args, o: Args, a: list[str]) -> int:
    from .features import document
    from .jsonio import dumps
    sys.stdout.write(dumps(document(VERSION), indent=2) + "\n")
    return 0


def cmd_spec(g: Args, o: Args, a: list[str]) -> int:
    import json
    from .specgen import default_spec
    path = os.path.join(o.bundle or ".", "config.json")
    if os.path.exists(path):
        raise PyruncError("File %s exists. Remove it first" % path)
    with open(path, "w") as f:
        json.dump(default_spec(rootless=o.rootless), f, indent="\t")
        f.write("\n")
    return 0


def _update_opts() -> list[Opt]:
    """update's flags: runc's names (update.py's table)."""
    from .update import UPDATE_FLAGS
    return ([Opt(["-r", "--resources"], "resources",
                 "linux.resources JSON from FILE (- for stdin)", metavar="FILE")] +
            [Opt(["--" + name.replace("_", "-")], name, "%s.%s" % (section, field),
                 metavar="VALUE") for name, (section, field, _) in UPDATE_FLAGS.items()] +
            [Opt(["--l3-cache-schema"], "l3_cache_schema", "Intel RDT: the L3 cache schema",
                 metavar="VALUE"),
             Opt(["--mem-bw-schema"], "mem_bw_schema", "Intel RDT: the memory bandwidth schema",
                 metavar="VALUE")])


BUNDLE = Opt(["-b", "--bundle"], "bundle", "path to the root of the bundle directory",
             metavar="DIR", default=".")
PID_FILE = Opt(["--pid-file"], "pid_file", "file to write the init's pid to", metavar="FILE")
NO_PIVOT = Opt(["--no-pivot"], "no_pivot",
               "do not use pivot_root to jail the process inside the rootfs")
NO_NEW_KEYRING = Opt(["--no-new-keyring"], "no_new_keyring",
                     "do not create a new session keyring for the container")
PRESERVE_FDS = Opt(["--preserve-fds"], "preserve_fds",
                   "pass N additional file descriptors to the container (stdio + N)",
                   metavar="N", kind=_uint, default=0)
CONSOLE_SOCKET = Opt(["--console-socket"], "console_socket",
                     "unix socket to send the pty master to (process.terminal)",
                     metavar="PATH")
ID = [("container-id", True)]

GLOBAL = [
    Opt(["--root"], "root", "root directory for storage of container state (default %s, or "
        "$XDG_RUNTIME_DIR/pyrunc when not root)" % DEFAULT_ROOT, metavar="PATH"),
    Opt(["--log"], "log", "write log messages to FILE (default: stderr)", metavar="FILE"),
    Opt(["--log-format"], "log_format", "log format: text or json", metavar="FORMAT",
        default="text", choices=("text", "json")),
    Opt(["--debug"], "debug", "enable debug logging"),
    Opt(["--systemd-cgroup"], "systemd_cgroup",
        "use the systemd cgroup driver (cgroupsPath slice:prefix:name)"),
    Opt(["--rootless"], "rootless_global", "do without the cgroups this user cannot write "
        "(auto: when not the host's root)", metavar="auto|true|false", default="auto",
        choices=("auto", "true", "false")),
    Opt(["-v", "--version"], "version", "print the version"),
]

COMMANDS = {c.name: c for c in [
    Cmd("create", "create a container (its process waits for `start`)",
        [BUNDLE, CONSOLE_SOCKET, PID_FILE, NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS],
        ID, cmd_create),
    Cmd("start", "start the user process of a created container", [], ID, cmd_start),
    Cmd("run", "create and start a container, wait for it unless --detach",
        [BUNDLE, CONSOLE_SOCKET, Opt(["-d", "--detach"], "detach", "detach from the container"),
         Opt(["--keep"], "keep", "do not delete the container after it exits"),
         PID_FILE,
         Opt(["--no-subreaper"], "no_subreaper", "do not reap the processes the container's "
             "process leaves (no PR_SET_CHILD_SUBREAPER)"),
         NO_PIVOT, NO_NEW_KEYRING, PRESERVE_FDS],
        ID, cmd_run),
    Cmd("exec", "run a new process in a running container",
        [Opt(["--process", "-p"], "process", "process.json: the whole process object",
             metavar="FILE"),
         Opt(["-t", "--tty"], "tty", "allocate a pseudo-terminal"),
         Opt(["-d", "--detach"], "detach", "do not wait for the process"),
         PID_FILE, CONSOLE_SOCKET,
         Opt(["-e", "--env"], "env", "set an environment variable (repeatable)",
             metavar="KEY=VALUE", repeat=True),
         Opt(["-u", "--user"], "user", "run as UID[:GID]", metavar="UID[:GID]"),
         Opt(["-g", "--additional-gids"], "additional_gids", "an additional group (repeatable)",
             metavar="GID", kind=_uint, repeat=True),
         Opt(["--cwd"], "cwd", "working directory in the container", metavar="DIR"),
         Opt(["-c", "--cap"], "cap", "add a capability (repeatable)", metavar="CAP",
             repeat=True),
         Opt(["--no-new-privs"], "no_new_privs", "set no_new_privs for the process"),
         Opt(["--apparmor"], "apparmor", "AppArmor profile of the process", metavar="PROFILE"),
         Opt(["--process-label"], "process_label", "SELinux label of the process",
             metavar="LABEL"),
         PRESERVE_FDS,
         Opt(["--ignore-paused"], "ignore_paused", "exec even if the container is paused"),
         Opt(["--cgroup"], "cgroup", "run the process in an existing sub-cgroup of the "
             "container's (repeatable)", metavar="[CONTROLLER:]SUB", repeat=True)],
        ID + [("command", False)], cmd_exec, raw_tail=True),
    Cmd("state", "print the state of a container as JSON", [], ID, cmd_state),
    Cmd("kill", "send a signal (default SIGTERM) to the container's init",
        [Opt(["-a", "--all"], "all", "send the signal to all processes of the container")],
        ID + [("signal", False)], cmd_kill),
    Cmd("delete", "delete a stopped container and what it holds",
        [Opt(["-f", "--force"], "force", "kill the container first if it is running")],
        ID, cmd_delete),
    Cmd("list", "list the containers under --root",
        [Opt(["-f", "--format"], "format", "table or json", metavar="FORMAT", default="table",
             choices=("table", "json")),
         Opt(["-q", "--quiet"], "quiet", "print only the container ids")],
        [], cmd_list),
    Cmd("pause", "freeze all processes of a container", [], ID, cmd_pause),
    Cmd("resume", "thaw a paused container", [], ID, cmd_resume),
    Cmd("update", "change the resource limits of a container", _update_opts, ID, cmd_update),
    Cmd("ps", "list the processes of a container",
        [Opt(["-f", "--format"], "format", "table or json", metavar="FORMAT", default="table",
             choices=("table", "json"))],
        ID, cmd_ps, raw_tail=True),
    Cmd("events", "print stats and OOM events of a container as JSON lines",
        [Opt(["--stats"], "stats", "print the stats once and exit"),
         Opt(["--interval"], "interval", "time between stats (default 5s)", metavar="DURATION",
             default="5s")],
        ID, cmd_events),
    Cmd("features", "print the runtime-spec features document (what pyrunc supports)", [],
        [], cmd_features),
    Cmd("spec", "write a default config.json",
        [BUNDLE, Opt(["--rootless"], "rootless", "a spec for a rootless container")],
        [], cmd_spec),
]}


# -- parsing ---------------------------------------------------------------

def _lookup(opts: Iterable[Opt], token: str) -> tuple[Opt | None, str | None]:
    """Find the option a token names: --name, -name (Go style), -x."""
    name, eq, value = token.partition("=")
    for o in opts:
        if name in o.names or ("-" + name) in o.names:
            return o, (value if eq else None)
    return None, None


def _parse_opts(opts: Iterable[Opt], argv: list[str], i: int, ns: Args, positionals: list[str],
                stop_at_positional: bool) -> int:
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            positionals.extend(argv[i + 1:])
            return len(argv)
        if tok in ("-h", "--help"):
            raise HelpRequested()
        if not tok.startswith("-") or tok == "-":
            if stop_at_positional:
                return i
            positionals.append(tok)
            i += 1
            continue
        o, value = _lookup(opts, tok)
        if o is None:
            raise UsageError("flag provided but not defined: %s" % tok.partition("=")[0])
        if o.metavar is None:
            if value is None:
                setattr(ns, o.dest, True)
            elif value in ("true", "false"):
                setattr(ns, o.dest, value == "true")
            else:
                raise UsageError("invalid boolean value %r for %s" % (value, tok))
        else:
            if value is None:
                i += 1
                if i >= len(argv):
                    raise UsageError("flag needs an argument: %s" % tok)
                value = argv[i]
            if o.choices and value not in o.choices:
                raise UsageError("invalid value %r for %s (choose from %s)"
                                 % (value, o.names[-1], ", ".join(o.choices)))
            try:
                if o.repeat:
                    getattr(ns, o.dest).append(o.kind(value))
                else:
                    setattr(ns, o.dest, o.kind(value))
            except ValueError:
                raise UsageError("invalid value %r for %s" % (value, o.names[-1])) from None
        i += 1
    return i


def parse(argv: list[str]) -> tuple[Args, Cmd | None, Args | None, list[str] | None]:
    """-> (global args, Cmd, command args, positionals)"""
    g = Args(GLOBAL)
    rest: list[str] = []
    try:
        return _parse(argv, g, rest)
    except UsageError as e:
        e.flags = g
        raise


def _parse(argv: list[str], g: Args, rest: list[str]
           ) -> tuple[Args, Cmd | None, Args | None, list[str] | None]:
    i = _parse_opts(GLOBAL, argv, 0, g, rest, stop_at_positional=True)
    if g.version:
        return g, None, None, None
    if i >= len(argv):
        raise HelpRequested()
    name = argv[i]
    cmd = COMMANDS.get(name)
    if cmd is None:
        raise UsageError("no such command: %s" % name)
    o = Args(cmd.opts)
    pos: list[str] = []
    try:
        end = _parse_opts(cmd.opts, argv, i + 1, o, pos, stop_at_positional=cmd.raw_tail)
    except HelpRequested:
        raise HelpRequested(name) from None
    if cmd.raw_tail:
        pos = argv[end:]
    required = sum(1 for _, req in cmd.args if req)
    if len(pos) < required or (len(pos) > len(cmd.args) and not cmd.raw_tail):
        if required == len(cmd.args):
            raise UsageError('"%s" requires exactly %d argument(s)' % (name, required))
        raise UsageError('"%s" requires %d to %d argument(s)' % (name, required, len(cmd.args)))
    return g, cmd, o, pos


def version_text() -> str:
    from .seccomp import libseccomp_version
    # runc's lines, in its order (Docker reads "version" and "commit:")
    text = "pyrunc version %s\ncommit: v%s\nspec: 1.3.0\npython: %s\n" % (
        VERSION, VERSION, sys.version.split()[0])
    seccomp = libseccomp_version()
    return text + ("libseccomp: %s\n" % seccomp if seccomp else "")


def boot() -> NoReturn:
    """The compiled front-end's way in (csrc/front.c): python -I -S, without
    the site module (its .pth files and sitecustomize cost 1-2 ms of every
    call), the directory the package is in appended to sys.path.  The
    dependencies the commands import (cffi; click for --help) are beside
    pyrunc in every install route that put them there; where one is not
    (a --user install over a system's cffi), site runs after all."""
    where = sys.path[-1]
    try:
        names = os.listdir(where)
    except OSError:
        names = []
    if not all(any(n.startswith(prefix) and n.endswith(".dist-info") for n in names)
               for prefix in ("cffi-", "click-")):
        import site
        site.main()
    main()


def main(argv: list[str] | None = None) -> NoReturn:
    # A call lives for milliseconds and frees its objects by reference
    # count: the cyclic collector's passes over the module and class
    # objects as they are imported cost ~2 ms of each create.  (main ends
    # the process; cmd_events, which lives on, turns it back on.)
    gc.disable()
    argv = sys.argv[1:] if argv is None else argv
    try:
        g, cmd, o, pos = parse(argv)
    except HelpRequested as h:
        from .clihelp import show_help
        show_help(h.cmd)
        _exit(0)
    except UsageError as e:
        from .log import Logger
        flags = e.flags
        Logger(flags.log if flags else None, flags.log_format if flags else "text").error(
            "pyrunc: %s (see pyrunc --help)" % e, echo=True)
        _exit(1)
    if cmd is None:
        sys.stdout.write(version_text())
        _exit(0)
    assert o is not None and pos is not None   # (parse(): a command has both)
    from .log import Logger
    g.logger = Logger(g.log, g.log_format, g.debug)
    try:
        code = cmd.handler(g, o, pos)
    except PyruncError as e:
        g.logger.error(str(e), echo=True)
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    except OSError as e:
        # The machine said no where no step words it (a full disk, no fds
        # left): not a bug of ours, one line as any error.
        g.logger.error(os_error_text(e), echo=True)
        code = 1
    except Exception as e:  # a bug: one line, the traceback only with --debug
        if g.debug:
            import traceback
            traceback.print_exc()
        g.logger.error("internal error: %s: %s" % (type(e).__name__, e), echo=True)
        code = 1
    _exit(code)


def os_error_text(e: OSError) -> str:
    from .errors import strerror
    text = strerror(e.errno) if e.errno else str(e)
    if e.filename is not None:
        return "%s: %s" % (os.fsdecode(e.filename), text)
    return text


def _exit(code: int) -> NoReturn:
    """Exit without the interpreter's teardown: freeing every module and
    object costs several ms (more after create, with cffi and the plan
    loaded).  Everything pyrunc writes is flushed here or went through
    os.write."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
