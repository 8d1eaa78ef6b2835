"""The command group both CLIs share (click only, so that a command starts quickly)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click


class CommandGroup(click.Group):
    """A command group for both CLIs: errors read ``error: ...``, command help is never cut.

    Click prints ``Error:`` and shortens each command's line in ``--help`` to fit with
    ``...``; the project's own messages say ``error:``, and a help line ends where its
    first sentence ends.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            if exc.ctx is not None:
                hint = f"Try '{exc.ctx.command_path} --help' for help.\n"
                click.echo(f"{exc.ctx.get_usage()}\n{hint}", err=True)
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # Without standalone mode click returns an explicit exit code, or the command's value.
        sys.exit(result if isinstance(result, int) else 0)
