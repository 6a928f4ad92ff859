"""Small file helpers shared by the runtime and the cgroup manager."""
from __future__ import annotations

import os


def write_once(path: str, text: str) -> None:
    """One write(2) of text to an existing file (proc and cgroup files take
    a value per write); OSError as the kernel gives it."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
