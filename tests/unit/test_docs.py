"""The API reference builds from the docstrings, and every public name
has one (scripts/api-reference.py); the guide names only what exists."""
import os
import re
import subprocess
import sys

import pyrunc

TOP = os.path.join(os.path.dirname(__file__), "..", "..")


def test_the_api_reference_builds_and_is_complete(tmp_path):
    out = tmp_path / "api.md"
    r = subprocess.run([sys.executable, os.path.join(TOP, "scripts", "api-reference.py"),
                        str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    for name in pyrunc.__all__:
        if name != "__version__":
            assert "pyrunc.%s" % name in text, name
    for method in ("create", "run", "load", "list"):
        assert "### Runtime.%s(" % method in text
    for method in ("start", "kill", "exec", "update", "stats", "events", "delete", "wait"):
        assert "### Container.%s(" % method in text


def test_the_guide_calls_only_methods_that_exist():
    with open(os.path.join(TOP, "docs", "guide.md")) as f:
        guide = f.read()
    for var, cls in (("c", pyrunc.Container), ("rt", pyrunc.Runtime)):
        for name in set(re.findall(r"\b%s\.([a-z_]+)\(" % var, guide)):
            assert hasattr(cls, name), "%s.%s" % (cls.__name__, name)
    for name in set(re.findall(r"\bpyrunc\.([A-Za-z_]+)", guide)):
        assert name in pyrunc.__all__ or name in ("PyruncWarning",), name
