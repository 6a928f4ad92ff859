"""What the hot path (create, start, state, kill, delete, run) must not
import, and how to see what a command imports."""
import subprocess
import sys
import tempfile

# typing costs ~10 ms, dataclasses and enum a few; click is for --help only;
# jsonschema and pyroute2 only where a command needs them
HEAVY = {"typing", "dataclasses", "enum", "click", "jsonschema", "pyroute2", "logging",
         "socket", "subprocess", "json"}


def imported_by(root, args, timeout=30):
    """(CompletedProcess, the modules `python -m pyrunc --root ROOT ARGS`
    imports).  Output through a file: a container create starts keeps
    its stdio open."""
    with tempfile.TemporaryFile("w+") as err:
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "pyrunc", "--root",
                            root] + list(args), stdout=subprocess.DEVNULL, stderr=err,
                           text=True, stdin=subprocess.DEVNULL, timeout=timeout)
        err.seek(0)
        r.stderr = err.read()
    return r, {line.split("|")[2].strip() for line in r.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
