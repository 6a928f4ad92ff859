"""OCI hooks run by the runtime itself: prestart and createRuntime (during
create, in the runtime's namespaces), poststart (after start) and poststop
(after the container stopped, from delete).  createContainer and
startContainer hooks run inside the container's namespaces and so in the C
child (see plan.py).  The state JSON goes to each hook on stdin."""
from __future__ import annotations

import os

from .errors import HookError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_SLICE = 86400   # seconds


def run_hooks(hooks: dict[str, Any], name: str, state_json: str, cwd: str | None = None) -> None:
    """Run config.hooks[name] in order; raise HookError at the first failure."""
    for i, hook in enumerate(hooks.get(name) or ()):
        err = run_hook(hook, state_json, cwd)
        if err:
            raise HookError("%s hook #%d %s: %s" % (name, i, hook["path"], err))


def run_hooks_warn(hooks: dict[str, Any], name: str, state_json: str,
                   warn: Callable[[str], None]) -> None:
    """Run every hook of hooks[name]; a failure is a warning (poststart,
    poststop: runtime-spec 1.3)."""
    for i, hook in enumerate(hooks.get(name) or ()):
        err = run_hook(hook, state_json)
        if err:
            warn("%s hook #%d %s: %s" % (name, i, hook["path"], err))


def run_hook(hook: dict[str, Any], state_json: str, cwd: str | None = None) -> str | None:
    """Run one hook; return None on success or the failure as text.  A hook
    without "env" gets the runtime's environment, as runc's get runc's."""
    import subprocess  # only when there are hooks

    args = hook.get("args") or [hook["path"]]
    env = dict(e.split("=", 1) for e in hook["env"]) if "env" in hook else None
    try:
        proc = subprocess.Popen(args, executable=hook["path"], env=env, stdin=subprocess.PIPE,
                                close_fds=True, cwd=cwd)
    except OSError as e:
        return strerror(e.errno) if e.errno else str(e)
    timeout: Any = hook.get("timeout")   # (a JSON value: int or absent)
    data: bytes | None = state_json.encode()
    try:
        while True:
            # (poll(2) takes an int of milliseconds: a long timeout is
            # waited out in slices)
            slice_ = None if timeout is None else min(timeout, _SLICE)
            try:
                proc.communicate(data, timeout=slice_)
                break
            except subprocess.TimeoutExpired:
                timeout -= slice_
                if timeout <= 0:
                    raise
                data = None   # (communicate keeps what it has not sent)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "timed out after %d s" % hook["timeout"]
    except BrokenPipeError:
        proc.wait()
    if proc.returncode != 0:
        return describe_status(proc.returncode)
    return None


def describe_status(code: int) -> str:
    if code < 0:
        return "killed by signal %d" % -code
    return "exit status %d" % code


def wait_status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exit status %d" % os.WEXITSTATUS(status)
