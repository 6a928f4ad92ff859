"""Errors and warnings are one line each, whatever a config put in them."""
import json

from pyrunc.log import Logger, one_line


def test_control_characters_are_escaped():
    assert one_line("root.path: /a\nb\x1b[31m\tc\x7f") == "root.path: /a\\nb\\x1b[31m\\tc\\x7f"
    assert one_line("plain: é ü") == "plain: é ü"


def test_the_log_and_stderr_get_one_line(tmp_path, capsys):
    log = tmp_path / "log.json"
    Logger(str(log), "json").error("mounts[0]: /x\ny", echo=True)
    assert capsys.readouterr().err == "mounts[0]: /x\\ny\n"
    (line,) = log.read_text().splitlines()
    assert json.loads(line)["msg"] == "mounts[0]: /x\\ny"
