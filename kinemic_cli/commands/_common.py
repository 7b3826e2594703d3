"""What every command shares: option aliases, the output sink, errors, config files.

- Data goes to stdout, logs/progress/warnings to stderr; ``--json`` prints one compact JSON
  document on stdout and switches progress bars off.
- Library errors (:class:`KinemicError`) become ``Error: <one line>`` on stderr and exit
  status 1 (under ``--json`` also ``{"error": ..., "code": 1}`` on stdout); ``--debug`` (or ``KINEMIC_DEBUG=1``) shows the traceback instead.
- ``--config file.yaml`` supplies option values: it is read first (an eager option) into
  the command's default map, so Typer parses and checks its values like typed ones and any
  flag given on the command line wins.  An unknown key is one error line naming it.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Optional

import typer
from rich.console import Console

from ..errors import KinemicError
from ..runtime.launch import is_main_process, launch_torchrun  # torch-free: light commands must not import torch
from ..runtime.progress import progress_enabled

if TYPE_CHECKING:
    from ..store import MotionStore

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

# ---------------------------------------------------------------- shared option aliases
StoreOpt = Annotated[
    Optional[Path],
    typer.Option("--store", help="Motion store file (default: $KINEMIC_STORE or ./kinemic.h5).", show_default=False),
]
CollectionOpt = Annotated[
    Optional[str], typer.Option("--collection", help="Collection name in the store (default: the dataset name).")
]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Run folder for checkpoints, config and metrics.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same numbers.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")]
PresetOpt = Annotated[str, typer.Option("--preset", help="Model size: tiny (tests), small (CPU), paper.")]
MaxStepsOpt = Annotated[Optional[int], typer.Option("--max-steps", help="Stop after this many optimisation steps.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue from the last complete checkpoint/part.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout; no progress bars.")]
NprocOpt = Annotated[
    int, typer.Option("--nproc", help="Run under torchrun with this many processes on this machine (DDP).")
]
PrecisionOpt = Annotated[
    str, typer.Option("--precision", help="fp32 (the same numbers on every machine) or bf16 (autocast: several times "
                                          "faster matrix products on CPUs with AVX-512 BF16 / AMX and on GPUs).")
]
ShotsOpt = Annotated[int, typer.Option("--shots", min=1, help="Real clips per class (the few-shot split).")]
FewShotSeedOpt = Annotated[
    int, typer.Option("--fewshot-seed", help="Seed of the few-shot draw (which clips are the shots); the same in "
                                             "adapt, train-har and filter. Separate from --seed.")
]
ProtocolOpt = Annotated[
    Optional[str], typer.Option("--protocol", help="Protocol (xsub, xview, ...) whose train split the shots come from "
                                                   "and whose test/val split is tested on (default: the first).")
]

_NOT_IN_FILES = {"config", "json_output", "help", "debug", "version"}


def _option_keys(command) -> dict[str, str]:
    """Config-file key -> parameter name: each option's long spellings, with ``-`` or ``_``."""
    keys = {}
    for param in command.params:
        if param.name in _NOT_IN_FILES or getattr(param, "param_type_name", "") != "option":
            continue
        for opt in [*param.opts, *param.secondary_opts]:
            if opt.startswith("--"):
                keys[opt[2:]] = param.name
                keys[opt[2:].replace("-", "_")] = param.name
    return keys


def config_defaults(path: str | Path, command) -> dict[str, Any]:
    """The option values of a YAML config file, by parameter name; unknown keys are an error."""
    from ..runtime.config_files import read_yaml_mapping

    data = read_yaml_mapping(path, what="config file")
    keys = _option_keys(command)
    out = {}
    for key, value in data.items():
        if str(key) not in keys:
            known = ", ".join(sorted({k for k in keys if "_" not in k}))
            raise KinemicError(f"{path}: unknown config key {key!r}; known: {known}")
        out[keys[str(key)]] = value
    return out


def _read_config(ctx: typer.Context, param: typer.CallbackParam, value: Optional[Path]) -> Optional[Path]:
    if value is not None:
        ctx.default_map = {**(ctx.default_map or {}), **config_defaults(value, ctx.command)}
    return value


ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", is_eager=True, callback=_read_config,
                                 help="YAML file of option values (keys as the options); flags given on the "
                                      "command line win.")
]


def _argv_without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def relaunch_under_torchrun(nproc: int, *, what: str = "the command",
                            resume_hint: str = "--resume continues from the last complete checkpoint") -> bool:
    """``--nproc N`` (N > 1) outside torchrun: run this same command under torchrun, return True.

    Inside torchrun (``WORLD_SIZE`` set) or for N = 1 nothing happens and False comes back.
    A failed worker becomes this command's failure: one ``Error:`` line naming the process
    and how it ended (:func:`kinemic_cli.runtime.launch.launch_torchrun`).
    """
    if nproc < 1:
        raise KinemicError(f"--nproc must be at least 1, got {nproc}")
    if nproc == 1 or "WORLD_SIZE" in os.environ:
        return False
    launch_torchrun(nproc, _argv_without_nproc(sys.argv[1:]), what=what, resume_hint=resume_hint)
    return True


def check_global_batch(batch_size: int, nproc: int) -> None:
    """Refuse, before starting any process, a global batch that ``--nproc`` does not divide."""
    if nproc > 1 and batch_size % nproc:
        raise KinemicError(f"--batch-size {batch_size} is the global batch and must be divisible by --nproc {nproc}")


def open_store(path: Optional[Path]) -> "MotionStore":
    """The store at ``--store`` (or ``$KINEMIC_STORE`` / ``./kinemic.h5``); h5py loads only here."""
    from ..store import MotionStore, default_store_path

    return MotionStore(path or default_store_path())


def _debug_enabled() -> bool:
    """``kinemic --debug`` sets ``KINEMIC_DEBUG=1`` in its callback; users may set it too."""
    return os.environ.get("KINEMIC_DEBUG", "") not in ("", "0")


def _process_prefix() -> str:
    """``process 1: `` on torchrun's non-main processes, so their lines can be told apart."""
    return "" if is_main_process() else f"process {os.environ.get('RANK')}: "


def print_json_error(message: str, code: int) -> None:
    """Under ``--json`` an error is also one object on stdout, so scripts parse every outcome there."""
    sys.stdout.write(json.dumps({"error": message, "code": code}) + "\n")
    sys.stdout.flush()


def report_error(exc: KinemicError, json_mode: bool) -> None:
    """A library error as one ``Error:`` line on stderr (and one JSON object on stdout under ``--json``)."""
    if _debug_enabled():
        traceback.print_exc()
    message = f"{_process_prefix()}{exc}"
    if json_mode and is_main_process():
        print_json_error(str(exc), 1)
    if json_mode:
        print(f"Error: {message}", file=sys.stderr)
    else:
        stderr.print(f"[bold red]Error:[/] {message}", highlight=False, markup=True)


def command(fn: Callable) -> Callable:
    """Wrap a command: one-line errors, progress off under ``--json`` and on torchrun's other processes."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        json_mode = bool(kwargs.get("json_output", False))
        try:
            with progress_enabled(not json_mode and is_main_process()):
                return fn(*args, **kwargs)
        except KinemicError as exc:
            report_error(exc, json_mode)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            if json_mode and is_main_process():
                print_json_error("interrupted", 130)
            print("Error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper


def emit(result: dict, json_output: bool, human: Callable[[Console], None] | str | None = None) -> None:
    """Print a command's result: JSON on stdout under ``--json``, else the human view.

    Under torchrun only rank 0 prints, so ``--nproc N --json`` still gives one document.
    """
    if not is_main_process():
        return
    if json_output:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
        sys.stdout.flush()
    elif callable(human):
        human(stdout)
    elif human is not None:
        stdout.print(human, highlight=False)
    else:
        stdout.print_json(json.dumps(result, default=str))


def info(message: str, json_output: bool = False) -> None:
    """A log line on stderr (suppressed under ``--json`` and on torchrun's other processes)."""
    if not json_output and is_main_process():
        stderr.print(message, highlight=False)


def warn(message: str) -> None:
    stderr.print(f"[yellow]Warning:[/] {message}", highlight=False)
