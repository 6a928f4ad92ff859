"""Error types.  Each carries one line for the user, lower-case and naming
the object and the operation (`mount "proc" on "/proc": operation not
permitted`); the CLI prints it and exits non-zero."""
import os


class PyruncError(Exception):
    """Anything pyrunc reports to its caller as a failure."""

    exit_code = 1


class ConfigError(PyruncError):
    """config.json is missing, unreadable or not a valid runtime-spec config."""


class BadArgument(PyruncError):
    """A command-line argument is invalid (id, signal, flag value)."""


class ContainerNotFound(PyruncError):
    def __init__(self, cid):
        super().__init__("container %s does not exist" % quote(cid))


class ContainerExists(PyruncError):
    def __init__(self, cid):
        super().__init__("container with id %s already exists" % quote(cid))


class WrongState(PyruncError):
    """The operation is not allowed in the container's current status."""


class SpawnError(PyruncError):
    """A step of the container's set-up failed (in the child or the parent)."""


class HookError(PyruncError):
    """A hook failed where the spec makes that fatal."""


def quote(text):
    return '"%s"' % text


def strerror(err):
    """`operation not permitted`: errno text in runc's lower-case style."""
    msg = os.strerror(err)
    return msg[:1].lower() + msg[1:]
