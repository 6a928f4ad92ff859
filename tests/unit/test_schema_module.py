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


def test_the_schema_knows_the_fields_of_1_3_the_checks_know():
    """The schema's memory policy names are the ones procattrs.py applies."""
    from pyrunc.procattrs import MPOL_FLAGS, MPOL_MODES
    from pyrunc.schema import load_schema
    policy = load_schema("config")["properties"]["linux"]["properties"]["memoryPolicy"]
    assert set(policy["properties"]["mode"]["enum"]) == set(MPOL_MODES)
    assert set(policy["properties"]["flags"]["items"]["enum"]) == set(MPOL_FLAGS)
    spec = default_spec()
    spec["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    spec["linux"]["intelRdt"] = {"schemata": ["L3:0=7f0"]}
    assert validate(spec) == []
    spec["linux"]["memoryPolicy"]["mode"] = "MPOL_X"
    assert any(p.startswith("linux.memoryPolicy.mode:") for p in validate(spec))


def test_without_jsonschema_validate_names_the_extra():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", "import sys; sys.modules['jsonschema'] = None\n"
                        "from pyrunc.schema import validate\n"
                        "try:\n    validate({})\n"
                        "except ImportError as e:\n    print(e)\n"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "pyrunc.schema.validate needs jsonschema: pip install 'pyrunc[schema]'\n"
