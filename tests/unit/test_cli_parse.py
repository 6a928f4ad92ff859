"""The command-line parser: runc's flag forms, exact arity, clear errors."""
import pytest

from pyrunc import cli
from pyrunc.linux import parse_signal
from pyrunc.state import check_id
from pyrunc.errors import BadArgument


def test_global_and_command_flags():
    g, cmd, o, pos = cli.parse(["--root", "/r", "--log-format=json", "create", "--bundle", "/b",
                                "--pid-file=/p", "--no-pivot", "--preserve-fds", "2", "id1"])
    assert (g.root, g.log_format, cmd.name) == ("/r", "json", "create")
    assert (o.bundle, o.pid_file, o.no_pivot, o.preserve_fds, pos) == ("/b", "/p", True, 2,
                                                                       ["id1"])


def test_go_style_single_dash_long_flags_and_short_aliases():
    g, cmd, o, pos = cli.parse(["-root", "/r", "run", "-b", "/b", "-d", "x"])
    assert (g.root, o.bundle, o.detach, pos) == ("/r", "/b", True, ["x"])


def test_defaults():
    g, cmd, o, pos = cli.parse(["kill", "c"])
    # (no --root: the Runtime's default, state.default_root)
    assert g.root is None and g.log_format == "text" and o.all is False
    assert g.rootless_global == "auto"
    assert pos == ["c"]


def test_the_default_root_is_runcs(monkeypatch):
    from pyrunc import state
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1001")
    monkeypatch.setattr(state.os, "geteuid", lambda: 1001)
    assert state.default_root() == "/run/user/1001/pyrunc"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert state.default_root() == "/run/pyrunc"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/0")
    monkeypatch.setattr(state.os, "geteuid", lambda: 0)
    assert state.default_root() == "/run/pyrunc"
    # root of a user namespace (a rootless Podman runs its runtime so):
    # $XDG_RUNTIME_DIR unless $USER is root
    monkeypatch.setattr(state, "in_user_namespace", lambda: True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1001")
    monkeypatch.setenv("USER", "podman-user")
    assert state.default_root() == "/run/user/1001/pyrunc"
    monkeypatch.setenv("USER", "root")
    assert state.default_root() == "/run/pyrunc"


@pytest.mark.parametrize("argv, message", [
    (["create"], "requires exactly 1 argument"),
    (["create", "a", "b"], "requires exactly 1 argument"),
    (["kill", "a", "b", "c"], "requires 1 to 2 argument"),
    (["create", "--bogus", "x"], "flag provided but not defined: --bogus"),
    (["--log-format", "xml", "state", "x"], "invalid value 'xml'"),
    (["create", "--preserve-fds", "-1", "x"], "invalid value '-1'"),
    (["create", "--pid-file"], "flag needs an argument"),
    (["frobnicate"], "no such command"),
])
def test_usage_errors(argv, message):
    with pytest.raises(cli.UsageError, match=message):
        cli.parse(argv)


def test_help_is_requested():
    with pytest.raises(cli.HelpRequested) as h:
        cli.parse(["create", "--help"])
    assert h.value.cmd == "create"


def test_help_renders_from_the_table(capsys):
    from pyrunc.clihelp import show_help
    show_help("create")
    out = capsys.readouterr().out
    assert "--pid-file" in out and "--bundle" in out


@pytest.mark.parametrize("text, num", [("KILL", 9), ("SIGKILL", 9), ("9", 9), ("term", 15),
                                       ("SIGRTMIN+2", 36), ("USR1", 10), ("0", 0)])
def test_signals(text, num):
    assert parse_signal(text) == num


@pytest.mark.parametrize("text", ["FOO", "65", "SIGRTMAX+1", ""])
def test_bad_signals(text):
    assert parse_signal(text) is None


@pytest.mark.parametrize("cid", ["", "a/b", "..", ".", "a b", "a\nb", "x" * 256, "é", ".a",
                                 "-rf", "_x"])
def test_invalid_ids(cid):
    with pytest.raises(BadArgument):
        check_id(cid)


@pytest.mark.parametrize("cid", ["a", "web-1", "a.b_c+d", "0" * 255])
def test_valid_ids(cid):
    check_id(cid)


def test_ps_passes_the_rest_of_the_line_on():
    g, cmd, o, pos = cli.parse(["ps", "-f", "json", "c1"])
    assert (cmd.name, o.format, pos) == ("ps", "json", ["c1"])
    g, cmd, o, pos = cli.parse(["ps", "c1", "-ef", "--forest"])
    assert (o.format, pos) == ("table", ["c1", "-ef", "--forest"])


def test_every_help_page_renders_without_warnings(capsys):
    import warnings
    from pyrunc import cli
    from pyrunc.clihelp import show_help
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in [None] + list(cli.COMMANDS):
            show_help(name)
    assert "update" in capsys.readouterr().out


def test_listen_fds_are_only_for_the_process_systemd_named():
    from pyrunc.cli import listen_fds
    assert listen_fds({"LISTEN_FDS": "2", "LISTEN_PID": "77"}, 77) == 2
    assert listen_fds({"LISTEN_FDS": "2", "LISTEN_PID": "78"}, 77) == 0
    assert listen_fds({"LISTEN_FDS": "x", "LISTEN_PID": "77"}, 77) == 0
    assert listen_fds({}, 77) == 0


def test_exec_flags_repeat_and_the_command_keeps_its_own_flags():
    g, cmd, o, pos = cli.parse(["exec", "-e", "A=1", "--env", "B=2", "-g", "5", "-g", "7",
                            "-t", "box", "ls", "-l", "--color"])
    assert cmd.name == "exec"
    assert (o.env, o.additional_gids, o.tty) == (["A=1", "B=2"], [5, 7], True)
    assert pos == ["box", "ls", "-l", "--color"]


@pytest.mark.parametrize("mode, expected", [(True, True), ("true", True), (False, False),
                                            ("false", False)])
def test_the_rootless_mode_of_a_runtime(mode, expected):
    from pyrunc import Runtime
    assert Runtime("/nonexistent", rootless=mode).rootless is expected


def test_rootless_auto_follows_the_host(monkeypatch):
    from pyrunc import Runtime, host
    for answer in (True, False):
        monkeypatch.setattr(host, "is_rootless", lambda: answer)
        assert Runtime("/nonexistent").rootless is answer


@pytest.mark.parametrize("mode", ["maybe", 1, None, ["auto"]])
def test_a_bad_rootless_mode_is_named(mode):
    from pyrunc import Runtime
    with pytest.raises(BadArgument, match="--rootless .*: auto, true or false"):
        Runtime("/nonexistent", rootless=mode)
