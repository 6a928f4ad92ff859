"""--help pages, rendered by click from the command table in cli.py (click
is imported only here: see the note at the top of cli.py)."""
from __future__ import annotations

import click

from . import cli

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable


def _params(opts: Iterable[cli.Opt]) -> list[click.Parameter]:
    params: list[click.Parameter] = []
    for o in opts:
        decls = list(o.names) + [o.dest]
        if o.metavar is None:
            params.append(click.Option(decls, is_flag=True, help=o.help))
        else:
            params.append(click.Option(decls, metavar=o.metavar, help=o.help,
                                       default=o.default, show_default=o.default not in (None, "")))
    return params


def build_group() -> click.Group:
    group = click.Group("pyrunc", params=_params(cli.GLOBAL),
                        help="pyrunc: an OCI container runtime, compatible with runc.\n\n"
                             "Containers live under --root; each command acts on one by id.")
    for c in cli.COMMANDS.values():
        args: list[click.Parameter] = [
            click.Argument([name.replace("-", "_")], required=req, metavar=name.upper())
            for name, req in c.args]
        if c.raw_tail:   # the rest of the line, passed on as it is
            args.append(click.Argument(["rest"], nargs=-1, metavar="[ARGS]..."))
        group.add_command(click.Command(c.name, params=_params(c.opts) + args, help=c.help))
    return group


def show_help(cmd: str | None = None) -> None:
    group = build_group()
    argv = [cmd, "--help"] if cmd else ["--help"]
    try:
        group.main(args=argv, prog_name="pyrunc", standalone_mode=False)
    except click.exceptions.Exit:
        pass
