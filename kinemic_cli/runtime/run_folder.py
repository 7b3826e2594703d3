"""The run folder contract shared by ``pretrain`` and ``adapt``: fresh, or resumed with the same options.

A fresh run refuses a non-empty ``--out`` (it would mix two runs' checkpoints and
metrics); ``--resume`` needs the checkpoint and refuses options that would change the
numbers of the run being continued (anything outside ``free_keys``, such as
``--max-steps``).  Only the main process creates the folder under DDP.

One exception keeps a killed run from leaving a folder that can neither be resumed nor
restarted: a folder that holds only what a run writes before its first checkpoint
(config, metrics, mining report, plots, temporary files), with no checkpoint and no
finished model, belongs to a run that never got anywhere; a fresh run starts over in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ..errors import KinemicError
from .atomic import TEMPORARY_MARK
from .checkpoints import load_state, state_exists

__all__ = ["open_run_folder"]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


def open_run_folder(out: Path, *, resume: bool, config: dict, free_keys: Iterable[str], is_main: bool,
                    checkpoint: str = "checkpoint", absent_means: dict | None = None) -> int | None:
    """The step to resume from, or None for a fresh run (whose folder now exists on the main process).

    ``absent_means``: for options added after a run may have been started, the value a run
    whose config does not name them was trained with (so a new default cannot change an old
    run's maths on ``--resume``).
    """
    out = Path(out)
    if resume:
        if not state_exists(out / checkpoint):
            raise KinemicError(f"--resume: no checkpoint in {out}")
        saved = json.loads((out / "config.json").read_text())["config"]
        free = set(free_keys)
        saved = {**(absent_means or {}), **saved}
        for key, value in config.items():
            if key not in free and key in saved and not _same(saved[key], value):
                raise KinemicError(f"--resume: option {key} is {value!r} but the run in {out} used {saved[key]!r}")
        return int(load_state(out / checkpoint)[1]["step"])
    if is_main:
        if out.exists() and any(out.iterdir()) and not _never_checkpointed(out, checkpoint):
            raise KinemicError(f"--out {out} is not empty; pass --resume to continue it or choose a new folder")
        out.mkdir(parents=True, exist_ok=True)
    return None


#: what a run writes before its first checkpoint (anything else in --out is someone's data)
EARLY_ARTEFACTS = {"config.json", "metrics.csv", "mining.json", "loss_curve.png", "mined_windows.gif"}


def _never_checkpointed(out: Path, checkpoint: str) -> bool:
    """Only early artefacts of a run that died before its first checkpoint (see the module docstring)."""
    for entry in out.iterdir():
        if entry.name.startswith(checkpoint + ".") or not entry.is_file():
            return False
        if entry.name not in EARLY_ARTEFACTS and TEMPORARY_MARK not in entry.name:
            return False
    return True
