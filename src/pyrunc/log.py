"""runc-style logging: `--log FILE --log-format text|json`.  Engines read
the JSON lines ({"level":"error","msg":"...","time":"..."}) to show our
errors; without --log, warnings go to stderr as text."""
from __future__ import annotations

import os
import sys
import time

from .errors import one_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Log(Protocol):
        """What the library logs to: a Logger (the CLI's --log, --debug) or
        runtime._CallbackLog (a library caller's on_warning)."""

        @property
        def debug_enabled(self) -> bool: ...

        def warn(self, msg: str) -> None: ...

        def error(self, msg: str, echo: bool = False) -> None: ...

        def debug(self, msg: str) -> None: ...


class Logger:
    def __init__(self, path: str | None = None, fmt: str = "text", debug: bool = False) -> None:
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug

    def _line(self, level: str, msg: str) -> str:
        t = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)
        if self.fmt == "json":
            from .jsonio import dumps
            return dumps({"level": level, "msg": msg, "time": stamp}) + "\n"
        return 'time="%s" level=%s msg="%s"\n' % (stamp, level, msg.replace('"', '\\"'))

    def _write(self, level: str, msg: str, to_stderr: bool) -> None:
        line = self._line(level, one_line(msg))
        if self.path:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
            except OSError:
                pass
        elif to_stderr:
            sys.stderr.write(line)

    def warn(self, msg: str) -> None:
        self._write("warning", msg, True)

    def error(self, msg: str, echo: bool = False) -> None:
        """The CLI prints its own error on stderr and the log gets a copy;
        echo: an error the library reports as it goes (one line on stderr
        too, as the CLI's would be)."""
        self._write("error", msg, False)
        if echo:
            sys.stderr.write(one_line(msg) + "\n")
            sys.stderr.flush()

    def debug(self, msg: str) -> None:
        if self.debug_enabled:
            self._write("debug", msg, True)
