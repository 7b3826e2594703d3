"""The ``kinemic`` executable: assembles the command modules, nothing more."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from . import __version__
from .commands import prepare_cmd, render_cmd, store_cmd
from .commands import adapt_cmd
from .commands import evaluate_cmd, filter_cmd, har_cmd
from .commands import generate_cmd, pretrain_cmd

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
    if debug:  # read by the error handler of every command (and inherited by torchrun workers)
        os.environ["KINEMIC_DEBUG"] = "1"


app.command("prepare")(prepare_cmd.prepare)
app.command("split")(prepare_cmd.split)
app.command("render")(render_cmd.render)
app.add_typer(store_cmd.app, name="store")
app.command("pretrain")(pretrain_cmd.pretrain)
app.command("adapt")(adapt_cmd.adapt)
app.command("generate")(generate_cmd.generate)
app.command("filter")(filter_cmd.filter_synthetic)
app.command("train-har")(har_cmd.train_har)
app.command("evaluate")(evaluate_cmd.evaluate)


def main() -> None:
    app(prog_name="kinemic")


if __name__ == "__main__":
    main()
