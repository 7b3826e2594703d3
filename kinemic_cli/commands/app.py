"""The ``kinemic`` executable: assembles the command modules, nothing more."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from .. import __version__
from ..errors import KinemicError
from ..runtime.threads import configure_cpu_threads
from . import (
    adapt_cmd,
    evaluate_cmd,
    filter_cmd,
    generate_cmd,
    har_cmd,
    prepare_cmd,
    pretrain_cmd,
    render_cmd,
    store_cmd,
)
from ._common import print_json_error, report_error

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


def _split_global_flags(argv: list[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--debug`` (accepted before or after the subcommand), and whether it was there.

    Arguments after a ``--`` separator are left alone.
    """
    stop = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:stop] if a != "--debug"] + argv[stop:]
    return kept, len(kept) != len(argv)


def usage_error_line(exc: Exception) -> str:
    """A click usage error as one line: the problem (with its suggestion) and where help is."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "kinemic"
    return f"Error: {message} (see '{where} --help')"


def _usage_error_classes() -> tuple[type, ...]:
    """Click's UsageError, and the one of the click copy that recent Typer vendors."""
    classes = []
    try:
        from typer._click.exceptions import UsageError as VendoredUsageError
        classes.append(VendoredUsageError)
    except ImportError:
        pass
    try:
        from click.exceptions import UsageError
        classes.append(UsageError)
    except ImportError:
        pass
    return tuple(classes)


#: commands whose work is torch/OpenMP-bound (their thread behaviour is chosen for the machine's load)
COMPUTING_COMMANDS = ("pretrain", "adapt", "generate", "train-har", "evaluate", "filter")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: usage errors are one line (one JSON object too under ``--json``), rc 2."""
    args, debug = _split_global_flags(list(sys.argv[1:] if argv is None else argv))
    if debug:
        os.environ["KINEMIC_DEBUG"] = "1"
        sys.argv = [sys.argv[0], *args]  # what a torchrun relaunch re-reads
    if args and args[0] in COMPUTING_COMMANDS and not {"-h", "--help"} & set(args):
        configure_cpu_threads()  # before torch loads: OpenMP reads its settings once
    try:
        code = app(args=args, prog_name="kinemic", standalone_mode=False)
    except _usage_error_classes() as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `kinemic` / `kinemic store`: the help
            exc.show()
            sys.exit(2)
        line = usage_error_line(exc)
        if "--json" in args:
            print_json_error(line.removeprefix("Error: "), 2)
        print(line, file=sys.stderr)
        sys.exit(2)
    except KinemicError as exc:  # raised while options were read (a bad --config file)
        report_error(exc, "--json" in args)
        sys.exit(1)
    except typer.Abort:
        print("Error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
