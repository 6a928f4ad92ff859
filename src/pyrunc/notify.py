"""linux.seccomp with SCMP_ACT_NOTIFY: the runtime hands the listener fd
the child sent up to the agent at listenerPath (runtime-spec "Seccomp"
listener protocol)."""
from __future__ import annotations

from . import state as st
from .errors import SpawnError, strerror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def send_to_seccomp_listener(section: dict[str, Any], fd: int, pid: int, cid: str, bundle: str,
                             annotations: dict[str, str] | None,
                             status: str = "creating") -> None:
    """runtime-spec "Seccomp": the listener fd and the container process
    state, as one message with SCM_RIGHTS, over a connection to
    listenerPath."""
    import _socket
    import sys
    state: dict[str, Any] = {"ociVersion": st.OCI_VERSION, "id": cid, "status": status, "pid": pid,
             "bundle": bundle}
    if annotations:
        state["annotations"] = annotations
    doc = {"ociVersion": st.OCI_VERSION, "fds": ["seccompFd"], "pid": pid,
           "metadata": section.get("listenerMetadata") or "", "state": state}
    from .jsonio import dumps
    path = section["listenerPath"]
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        sock.sendmsg([dumps(doc).encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                              fd.to_bytes(4, sys.byteorder))])
    except OSError as e:
        # (runc's words, which callers match on)
        raise SpawnError('linux.seccomp.listenerPath: failed to connect with seccomp agent '
                         'specified in the seccomp profile: "%s": %s'
                         % (path, strerror(e.errno))) from None
    finally:
        sock.close()
