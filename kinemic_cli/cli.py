"""The ``kinemic`` executable: assembles the command modules, nothing more."""

from __future__ import annotations

from typing import Annotated

import typer

from . import __version__
from .commands import prepare_cmd, render_cmd, store_cmd

app = typer.Typer(
    name="kinemic",
    help="Few-shot skeleton action synthesis (KineMIC): prepare -> pretrain -> adapt -> generate -> train-har -> evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kinemic {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """kinemic: turn a few real skeleton clips per class into many synthetic ones."""


app.command("prepare")(prepare_cmd.prepare)
app.command("split")(prepare_cmd.split)
app.command("render")(render_cmd.render)
app.add_typer(store_cmd.app, name="store")


def main() -> None:
    app(prog_name="kinemic")


if __name__ == "__main__":
    main()
