"""A deep check of a document against the JSON schemas in spec/ (written
from the runtime-spec text).  jsonschema is imported here only: `create`
uses the fast checks of bundle.py, this is for tools and tests.

    from pyrunc.schema import validate
    for problem in validate(config):          # [] when valid
        print(problem)                        # "process.args: 5 is not of type 'array'"
"""
from __future__ import annotations

import os

from . import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spec")
SCHEMAS = {"config": "config.schema.json", "state": "state.schema.json"}


def load_schema(kind: str) -> Any:
    with open(os.path.join(SPEC_DIR, SCHEMAS[kind]), "rb") as f:
        return jsonio.loads(f.read())


def validate(doc: Any, kind: str = "config") -> list[str]:
    """Every schema violation of doc as "json.path: message", in document
    order; [] if doc is valid.  Needs jsonschema (`pip install
    'pyrunc[schema]'`)."""
    try:
        import jsonschema
    except ImportError as e:
        raise ImportError("pyrunc.schema.validate needs jsonschema: "
                          "pip install 'pyrunc[schema]'") from e

    schema = load_schema(kind)
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in err.absolute_path)
        problems.append("%s: %s" % (path.lstrip(".") or kind, err.message))
    return problems
