"""create and run, the hot path's heaviest commands, import nothing heavy
either (tests/unit/test_hot_path_imports.py has the others)."""
from support.hotpath import HEAVY, imported_by

NOT_FOR_PLAIN = {"_socket", "struct", "pyrunc.hooks", "pyrunc.procattrs", "pyrunc.idmap"}


def test_create_and_run_import_nothing_heavy(env):
    created = env.cid()
    for args in (["create", "-b", env.bundle(env.spec(["true"])), created],
                 ["run", "-b", env.bundle(env.spec(["true"])), env.cid()]):
        r, mods = imported_by(env.state_root, args)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "pyrunc.spawn" in mods and not mods & HEAVY, sorted(mods & HEAVY)
        # (the shim reads the child's messages: no _socket, a library to load,
        # nor struct; hooks.py only for a config with hooks, procattrs.py
        # with scheduling fields, idmap.py with idmapped mounts)
        assert not mods & NOT_FOR_PLAIN, sorted(mods & NOT_FOR_PLAIN)
        # (linux.netDevices' module and pyroute2: only for a config that has them)
        assert "pyroute2" not in mods and "pyrunc.netdevices" not in mods
    assert env.pyrunc("delete", "-f", created).returncode == 0
