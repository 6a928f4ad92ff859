"""JSON for the hot path.

`import json` costs ~7 ms here (json.decoder pulls in re, and re pulls in
enum), a third of a `start`.  The parsing and encoding work is done by the
C accelerator module `_json` anyway; this module calls it directly and
leaves the json package to the error path (to explain what is wrong) and to
interpreters without `_json`.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, NoReturn

# (for mypy: None off CPython; and any module, as typeshed's _json wants a
# make_scanner where make_scanner takes a duck-typed context, _Context)
_json: ModuleType | None
try:
    import _json
except ImportError:  # not CPython: the json package does the same work
    _json = None


class _Context:
    """The attributes _json.make_scanner reads from a JSONDecoder."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"),
                "-Infinity": float("-inf")}[name]


_WS = " \t\n\r"


def loads(data: str | bytes | bytearray) -> Any:
    """Parse a JSON document (str or UTF-8 bytes).  Raises ValueError (a
    json.JSONDecodeError with line and column) when it is not valid."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8-sig") if data[:3] == b"\xef\xbb\xbf" else data.decode()
    if _json is not None:
        text = data.strip(_WS)
        try:
            obj, end = _json.make_scanner(_Context)(text, 0)
        except Exception:  # noqa: BLE001 - json below says what is wrong
            end = -1
        if end == len(text):
            return obj
    import json  # invalid input (or no _json): let json say what is wrong
    return json.loads(data)


def _no_default(obj: object) -> NoReturn:
    raise TypeError("%r is not JSON serialisable" % (obj,))


def dumps(obj: object, indent: int | None = None, sort_keys: bool = False) -> str:
    """Encode obj (dict, list, str, int, float, bool, None) as JSON."""
    if indent is not None:
        return "".join(_pretty(obj, indent, 0))
    if _json is None:
        import json
        return json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys)
    enc = _json.make_encoder(None, _no_default, _json.encode_basestring_ascii, None,
                             ":", ",", sort_keys, False, True)
    return "".join(enc(obj, 0))


def _pretty(obj: object, indent: int, level: int) -> list[str]:
    pad = "\n" + " " * (indent * (level + 1))
    end = "\n" + " " * (indent * level)
    if isinstance(obj, dict) and obj:
        items = [pad + dumps(str(k)) + ": " + "".join(_pretty(v, indent, level + 1))
                 for k, v in obj.items()]
        return ["{", ",".join(items), end, "}"]
    if isinstance(obj, list) and obj:
        items = [pad + "".join(_pretty(v, indent, level + 1)) for v in obj]
        return ["[", ",".join(items), end, "]"]
    return [dumps(obj)]
