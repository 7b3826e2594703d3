"""What every command shares: option aliases, the output sink, errors, config files.

- Data goes to stdout, logs/progress/warnings to stderr; ``--json`` prints one compact JSON
  document on stdout and switches progress bars off.
- Library errors (:class:`KinemicError`) become ``Error: <one line>`` on stderr and exit
  status 1 (under ``--json`` also ``{"error": ..., "code": 1}`` on stdout); ``--debug`` (or ``KINEMIC_DEBUG=1``) shows the traceback instead.
- ``--config file.yaml`` supplies option values; flags given on the command line win.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.console import Console

from ..errors import KinemicError
from ..runtime.config_files import read_yaml_mapping
from ..runtime.launch import is_main_process, launch_torchrun  # torch-free: light commands must not import torch
from ..runtime.progress import progress_enabled
from ..store import MotionStore, default_store_path

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
ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", help="YAML file of option values; command-line flags override it.")
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


def open_store(path: Optional[Path]) -> MotionStore:
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


def command(fn: Callable) -> Callable:
    """Wrap a command: one-line errors, progress off under ``--json`` and on torchrun's other processes."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        json_mode = bool(kwargs.get("json_output", False))
        try:
            with progress_enabled(not json_mode and is_main_process()):
                return fn(*args, **kwargs)
        except KinemicError as exc:
            if _debug_enabled():
                traceback.print_exc()
            message = f"{_process_prefix()}{exc}"
            if json_mode and is_main_process():
                print_json_error(str(exc), 1)
            stderr.print(f"[bold red]Error:[/] {message}", highlight=False, markup=True) if not json_mode else print(
                f"Error: {message}", file=sys.stderr
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            if json_mode and is_main_process():
                print_json_error("interrupted", 130)
            print("Error: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper


def load_config_file(path: str | Path, allowed) -> dict[str, Any]:
    """Read a YAML mapping of option values; keys may use ``-`` or ``_``; unknown keys are an error."""
    data = read_yaml_mapping(path, what="config file")
    # A parameter named ``list_`` (to dodge a builtin) is the option --list: key ``list`` in a file.
    by_key = {name.rstrip("_"): name for name in allowed}
    out = {}
    for key, value in data.items():
        norm = str(key).replace("-", "_")
        if norm not in by_key:
            known = ", ".join(sorted(k.replace("_", "-") for k in by_key))
            raise KinemicError(f"{path}: unknown config key {key!r}; known: {known}")
        out[by_key[norm]] = value
    return out


def apply_config(ctx: typer.Context, values: dict[str, Any], config: Optional[Path]) -> dict[str, Any]:
    """Fill options the user did not type from ``--config``; return the resolved values."""
    resolved = dict(values)
    if config is None:
        return resolved
    ignore = {"config", "json_output"}
    file_values = load_config_file(config, [k for k in values if k not in ignore])
    for key, value in file_values.items():
        # Compare by name: recent Typer vendors its own click, whose ParameterSource enum is a
        # different class from click.core's.
        source = ctx.get_parameter_source(key)
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):
            resolved[key] = value
    return resolved


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
