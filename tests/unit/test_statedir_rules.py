"""The state directory's rules are written once, in csrc/statedir.h:
front.c includes it, state.py reads the constants setup.py makes of it
(issue 12).  Neither may spell a rule of its own."""
import ast
import os
import re

from pyrunc import _statedir, state

TOP = os.path.join(os.path.dirname(__file__), "..", "..")


def _read(*path):
    with open(os.path.join(TOP, *path)) as f:
        return f.read()


def test_the_generated_constants_are_the_headers():
    header = _read("csrc", "statedir.h")
    defines = dict(re.findall(r"^#define PYRUNC_SD_(\w+) (.+)$", header, re.M))
    assert defines and set(defines) == {n for n in vars(_statedir) if n.isupper()}
    for name, literal in defines.items():
        assert getattr(_statedir, name) == ast.literal_eval(literal), name


def test_neither_side_spells_the_rules_itself():
    front = _read("csrc", "front.c")
    state_py = _read("src", "pyrunc", "state.py")
    # (as literals in code: the comments may name them)
    for value in (_statedir.FIFO, _statedir.FASTPATH, _statedir.STATE_FILE,
                  _statedir.DEFAULT_ROOT):
        for quoted in ('"%s"' % value, "'%s'" % value):
            assert quoted not in front and quoted not in state_py, quoted
    assert _statedir.FASTPATH_MAGIC.strip() not in front + state_py
    assert "isalnum" not in front and "255" not in front


def test_state_py_obeys_them():
    assert state.FIFO == _statedir.FIFO and state.DEFAULT_ROOT == _statedir.DEFAULT_ROOT
    state.check_id("a" * _statedir.ID_MAX)
    for bad in ("a" * (_statedir.ID_MAX + 1), ".x", "-x", "a/b", "é"):
        try:
            state.check_id(bad)
        except Exception as e:
            assert type(e).__name__ == "BadArgument"
        else:
            raise AssertionError(bad)


def test_the_type_stub_names_every_constant_with_its_type():
    """(src/pyrunc/_statedir.pyi, for mypy: the header's names, typed)"""
    stub = dict(re.findall(r"^(\w+): (\w+)$", _read("src", "pyrunc", "_statedir.pyi"), re.M))
    built = {n: type(v).__name__ for n, v in vars(_statedir).items() if n.isupper()}
    assert stub == built
