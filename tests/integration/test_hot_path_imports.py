"""create and run, the hot path's heaviest commands, import nothing heavy
either (tests/unit/test_hot_path_imports.py has the others)."""
from support.hotpath import HEAVY, imported_by


def test_create_and_run_import_nothing_heavy(env):
    created = env.cid()
    for args in (["create", "-b", env.bundle(env.spec(["true"])), created],
                 ["run", "-b", env.bundle(env.spec(["true"])), env.cid()]):
        r, mods = imported_by(env.state_root, args)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "pyrunc.spawn" in mods and not mods & HEAVY, sorted(mods & HEAVY)
    assert env.pyrunc("delete", "-f", created).returncode == 0
