"""The run folder contract shared by ``pretrain`` and ``adapt``: fresh, or resumed with the same options.

A fresh run refuses a non-empty ``--out`` (it would mix two runs' checkpoints and
metrics); ``--resume`` needs the checkpoint and refuses options that would change the
numbers of the run being continued (anything outside ``free_keys``, such as
``--max-steps``).  Only the main process creates the folder under DDP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ..errors import KinemicError
from .checkpoints import load_state, state_exists

__all__ = ["open_run_folder"]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


def open_run_folder(out: Path, *, resume: bool, config: dict, free_keys: Iterable[str], is_main: bool,
                    checkpoint: str = "checkpoint") -> int | None:
    """The step to resume from, or None for a fresh run (whose folder now exists on the main process)."""
    out = Path(out)
    if resume:
        if not state_exists(out / checkpoint):
            raise KinemicError(f"--resume: no checkpoint in {out}")
        saved = json.loads((out / "config.json").read_text())["config"]
        free = set(free_keys)
        for key, value in config.items():
            if key not in free and key in saved and not _same(saved[key], value):
                raise KinemicError(f"--resume: option {key} is {value!r} but the run in {out} used {saved[key]!r}")
        return int(load_state(out / checkpoint)[1]["step"])
    if is_main:
        if out.exists() and any(out.iterdir()):
            raise KinemicError(f"--out {out} is not empty; pass --resume to continue it or choose a new folder")
        out.mkdir(parents=True, exist_ok=True)
    return None
