"""The systemd driver's pure parts: names and D-Bus marshalling."""
import pytest

from pyrunc.cgroups import systemd


def test_a_users_containers_default_to_its_user_slice(monkeypatch):
    monkeypatch.setattr(systemd, "manager_uid", lambda: 1000)
    assert systemd.unit_and_slice("", "c1") == ("pyrunc-c1.scope", "user.slice")
    assert systemd.unit_and_slice("machine.slice:p:n", "c1") == ("p-n.scope", "machine.slice")


def test_unit_and_slice_names():
    assert systemd.unit_and_slice("system.slice:docker:abc", "x") == (
        "docker-abc.scope", "system.slice")
    assert systemd.unit_and_slice("", "c1") == ("pyrunc-c1.scope", "system.slice")
    assert systemd.unit_and_slice(":crio:x", "y") == ("crio-x.scope", "system.slice")
    assert systemd.slice_path("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"
    with pytest.raises(systemd.SystemdError, match="slice:prefix:name"):
        systemd.unit_and_slice("/a/b", "x")


def test_marshalling_round_trip():
    sig = "ssa(sv)a(sa(sv))"
    args = ("u.scope", "replace", [("Delegate", ("b", True)), ("PIDs", ("au", [7, 8])),
                                   ("Slice", ("s", "system.slice"))], [])
    w = systemd._Writer()
    for s, v in zip(systemd._split(sig), args):
        w.put(s, v)
    r = systemd._Reader(bytes(w.buf))
    out = [r.get(s) for s in systemd._split(sig)]
    assert out == ["u.scope", "replace", [("Delegate", 1), ("PIDs", [7, 8]),
                                          ("Slice", "system.slice")], []]
    assert r.pos == len(w.buf)
