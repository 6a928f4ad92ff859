"""The process of an `exec`: built from runc's exec options over the
container's own process (runc's rules), or read from a process.json."""
from __future__ import annotations

from .errors import BadArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Sequence


def load_process_file(path: str) -> dict[str, Any]:
    """A process object from a file (exec --process FILE), checked."""
    from .bundle import check_process, read_json
    process: dict[str, Any] = read_json(path, "--process %s" % path)
    check_process(process)
    return process


def exec_process(base: dict[str, Any] | None, args: Sequence[str] | None, tty: bool = False,
                 env: Iterable[str] = (), cwd: str | None = None,
                 user: str | tuple[int, int] | None = None,
                 additional_gids: Iterable[int] = (), caps: Iterable[str] = (),
                 no_new_privileges: bool = False, apparmor: str | None = None,
                 selinux_label: str | None = None) -> dict[str, Any]:
    """The process of `exec ID ARGS...`: base (the container's own
    process, or None) with args and the options applied, as runc applies
    them: env entries replace the ones of the same name; user "UID[:GID]"
    (or a (uid, gid) pair) replaces the user's ids; additional_gids add to
    the user's; caps (names, with or without CAP_) are added to the
    bounding, effective and permitted sets.  Returns a checked process."""
    from .bundle import check_process
    from .linux import CAP_NUMBERS
    if not args:
        raise BadArgument("exec: no command given (exec ID COMMAND [ARG...] or --process FILE)")
    p = dict(base or {"cwd": "/", "env": []})
    p["args"] = list(args)
    p["terminal"] = bool(tty)
    p.pop("consoleSize", None)
    p["env"] = merge_env(p.get("env") or (), env)
    if cwd:
        p["cwd"] = cwd
    ids = dict(p.get("user") or {})
    if user is not None:
        ids["uid"], ids["gid"] = _parse_user(user)
    if additional_gids:
        ids["additionalGids"] = list(ids.get("additionalGids") or ()) + list(additional_gids)
    p["user"] = ids
    if caps:
        sets = {k: list(v) for k, v in (p.get("capabilities") or {}).items()}
        for name in caps:
            cap = name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper()
            if cap not in CAP_NUMBERS:
                raise BadArgument("--cap %r: unknown capability" % name)
            for kind in ("bounding", "effective", "permitted"):
                if cap not in sets.setdefault(kind, []):
                    sets[kind].append(cap)
        p["capabilities"] = sets
    if no_new_privileges:
        p["noNewPrivileges"] = True
    if apparmor:
        p["apparmorProfile"] = apparmor
    if selinux_label:
        p["selinuxLabel"] = selinux_label
    check_process(p)
    return p


def _parse_user(user: str | tuple[int, int]) -> tuple[int, int]:
    uid: int | str
    gid: int | str
    if isinstance(user, tuple):
        uid, gid = user
        return int(uid), int(gid)
    uid, _, gid = str(user).partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise BadArgument("--user %r: expected UID[:GID] (numbers)" % user)
    return int(uid), int(gid) if gid else 0


def merge_env(env: Iterable[str], more: Iterable[str]) -> list[str]:
    """exec -e K=V: a K the process has gets the new value, in its place
    (runc); a new K is added at the end."""
    out = list(env)
    where = {e.partition("=")[0]: i for i, e in enumerate(out)}
    for e in more:
        key = e.partition("=")[0]
        if key in where:
            out[where[key]] = e
        else:
            where[key] = len(out)
            out.append(e)
    return out
