"""runc-style logging: `--log FILE --log-format text|json`.  Engines read
the JSON lines ({"level":"error","msg":"...","time":"..."}) to show our
errors; without --log, warnings go to stderr as text."""
import os
import sys
import time


class Logger:
    def __init__(self, path=None, fmt="text", debug=False):
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug

    def _line(self, level, msg):
        t = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)
        if self.fmt == "json":
            from .jsonio import dumps
            return dumps({"level": level, "msg": msg, "time": stamp}) + "\n"
        return 'time="%s" level=%s msg="%s"\n' % (stamp, level, msg.replace('"', '\\"'))

    def _write(self, level, msg, to_stderr):
        line = self._line(level, msg)
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

    def warn(self, msg):
        self._write("warning", msg, True)

    def error(self, msg):
        # The CLI prints the error itself on stderr; the log gets a copy.
        self._write("error", msg, False)

    def debug(self, msg):
        if self.debug_enabled:
            self._write("debug", msg, True)
