"""Error types.  Each carries one line for the user, lower-case and naming
the object and the operation (`mount "proc" on "/proc": operation not
permitted`); the CLI prints it and exits non-zero."""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# control characters in a message (from a hostile config: a newline in a
# path) would split its line or speak to the terminal: escaped
_ESCAPES = {c: "\\x%02x" % c for c in list(range(32)) + [127]}
_ESCAPES.update({10: "\\n", 9: "\\t", 13: "\\r"})
# a message quotes values of the config: one of 100 kB is cut in the middle
LONGEST = 2000


def one_line(msg: str) -> str:
    """msg as one readable line."""
    if not msg.isprintable():
        msg = msg.translate(_ESCAPES)
    if len(msg) > LONGEST:
        msg = "%s[...%d characters...]%s" % (msg[:LONGEST // 2], len(msg) - LONGEST,
                                            msg[-LONGEST // 2:])
    return msg


class PyruncError(Exception):
    """Anything pyrunc reports to its caller as a failure: one line
    (str(error)), and what a program may look at besides:

    - json_path: the field of the config (or of a process or resources
      object) that is wrong, e.g. "linux.uidMappings[0].size", or None;
    - errno: the errno of the system call that failed, or None;
    - step: the words of the set-up step that failed (`mount "proc" on
      "/proc"`), or None."""

    exit_code = 1

    def __init__(self, *args: Any, json_path: str | None = None, errno: int | None = None,
                 step: str | None = None) -> None:
        if args and isinstance(args[0], str):
            args = (one_line(args[0]),) + args[1:]
        super().__init__(*args)
        self.errno = errno
        self.step = step
        self._json_path = json_path

    @property
    def json_path(self) -> str | None:
        """The JSON path of the field that is wrong, or None."""
        return self._json_path


class ConfigError(PyruncError):
    """config.json is missing, unreadable or not a valid runtime-spec config.
    Its message starts with the JSON path of what is wrong, which json_path
    gives (unless the raiser named it)."""

    @property
    def json_path(self) -> str | None:
        """The JSON path of the field that is wrong: the message's prefix."""
        if self._json_path is not None:
            return self._json_path
        head, sep, _ = str(self).partition(": ")
        return head if sep and head and " " not in head else None


class BadArgument(PyruncError):
    """A command-line argument is invalid (id, signal, flag value)."""


class ContainerNotFound(PyruncError):
    def __init__(self, cid: str) -> None:
        super().__init__("container %s does not exist" % quote(cid))


class ContainerExists(PyruncError):
    def __init__(self, cid: str) -> None:
        super().__init__("container with id %s already exists" % quote(cid))


class WrongState(PyruncError):
    """The operation is not allowed in the container's current status."""


class SpawnError(PyruncError):
    """A step of the container's set-up failed (in the child or the parent)."""


class HookError(PyruncError):
    """A hook failed where the spec makes that fatal."""


def quote(text: str) -> str:
    return '"%s"' % text


def strerror(err: int | None) -> str:
    """`operation not permitted`: errno text in runc's lower-case style
    (an OSError without errno: "unknown error")."""
    msg = os.strerror(err) if err is not None else "unknown error"
    return msg[:1].lower() + msg[1:]


class PyruncWarning(UserWarning):
    """What a library Runtime without on_warning says through warnings.warn."""
