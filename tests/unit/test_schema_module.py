"""pyrunc.schema: the spec/ schemas as installed, through jsonschema."""
from pyrunc.schema import validate
from pyrunc.specgen import default_spec


def test_the_default_spec_is_valid():
    assert validate(default_spec()) == []
    assert validate(default_spec(rootless=True)) == []


def test_problems_name_the_json_path():
    spec = default_spec()
    spec["process"]["args"] = "sh"
    spec["linux"]["namespaces"].append({"type": "bogus"})
    problems = validate(spec)
    assert any(p.startswith("process.args:") for p in problems)
    assert any(p.startswith("linux.namespaces[5].type:") for p in problems)


def test_state_documents():
    good = {"ociVersion": "1.3.0", "id": "c1", "status": "running", "pid": 42, "bundle": "/b"}
    assert validate(good, "state") == []
    assert validate(dict(good, status="bogus"), "state")
    bad = dict(good)
    del bad["id"]
    assert validate(bad, "state")
