"""One training-loop skeleton for every diffusion training command (``pretrain``, ``adapt``).

What is the same for every such command lives here, once: the run folder contract
(fresh, or resumed with the same options), the resolved config written beside the
outputs, ``metrics.csv`` written as training goes, the progress bar, the finite-loss
check, and the checkpoint cadence (a collective under DDP: every process hands in its
random state, only the main process writes).  A command gives it a *step* (draw a batch,
compute the loss, update; return the step's logged values) and a *state* (what its
checkpoint holds), and :meth:`TrainingRun.loop` does the rest.

Resuming is bit-identical because everything that decides the next step is in the
checkpoint (weights, optimizer, step, every random state) and nothing depends on
wall-clock time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import KinemicError
from .checkpoints import load_state, save_state
from .config_files import save_resolved_config
from .distributed import DistContext
from .metrics_log import MetricsLog
from .progress import progress_task
from .run_folder import open_run_folder
from .training_rng import TrainingRandomness

__all__ = ["TrainingRun", "LoopResult", "CHECKPOINT"]

CHECKPOINT = "checkpoint"


@dataclass
class LoopResult:
    step: int
    steps_run: int
    last: dict[str, float]
    seconds: float

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(self.steps_run, 1)


class TrainingRun:
    """A run folder being trained in: open it (fresh or ``--resume``), restore, loop, checkpoint."""

    def __init__(self, out: str | Path, *, name: str, ctx: DistContext, resume: bool, config: dict,
                 free_keys: Sequence[str], absent_means: dict | None = None):
        self.out, self.name, self.ctx = Path(out), name, ctx
        self.resume_step = open_run_folder(self.out, resume=resume, config=config, free_keys=free_keys,
                                           is_main=ctx.is_main, checkpoint=CHECKPOINT, absent_means=absent_means)

    @property
    def resumed(self) -> bool:
        return self.resume_step is not None

    def restore(self, randomness: TrainingRandomness) -> tuple[Any, int]:
        """The saved state and step of a resumed run (random state restored), or ``(None, 0)``."""
        if self.resume_step is None:
            return None, 0
        state, meta = load_state(self.out / CHECKPOINT, map_location=str(self.ctx.device))
        step = int(meta["step"])
        randomness.restore(state["rng"], step=step)
        return state, step

    def save_config(self, config: dict, provenance: dict) -> None:
        if self.ctx.is_main:
            save_resolved_config(self.out / "config.json", {"config": config, "provenance": provenance})

    def loop(self, step_fn: Callable[[int], dict[str, float]], *, start: int, max_steps: int, checkpoint_every: int,
             randomness: TrainingRandomness, state_fn: Callable[[], dict], columns: Sequence[str],
             shown: Sequence[str], meta: dict | None = None) -> LoopResult:
        """Run ``step_fn(step)`` from ``start`` to ``max_steps``; returns the last logged values.

        ``step_fn`` returns the step's values (reduced over processes), which go to
        ``metrics.csv`` under ``columns`` and, for the names in ``shown``, to the bar.
        ``state_fn()`` is what a checkpoint holds besides the random state.
        """
        metrics = (MetricsLog(self.out / "metrics.csv", columns=columns, resume_step=start if self.resumed else None)
                   if self.ctx.is_main else None)
        step, last = start, {}
        started = time.perf_counter()
        try:
            with progress_task(self.name, max_steps, completed=step) as bar:
                while step < max_steps:
                    last = step_fn(step)
                    step += 1
                    if not all(math.isfinite(v) for v in last.values()):
                        terms = ", ".join(f"{k} {v:.4g}" for k, v in last.items())
                        raise KinemicError(f"{self.name}: loss became non-finite at step {step} ({terms}); lower --lr")
                    if metrics is not None:
                        metrics.log(step, last)
                    bar.advance(1, info=" ".join(f"{k} {last[k]:.4f}" for k in shown if k in last))
                    if step % checkpoint_every == 0 or step == max_steps:
                        self._checkpoint(step, randomness, state_fn, metrics, meta or {})
        finally:
            if metrics is not None:
                metrics.close()
        return LoopResult(step, step - start, last, time.perf_counter() - started)

    def _checkpoint(self, step: int, randomness: TrainingRandomness, state_fn: Callable[[], dict],
                    metrics: MetricsLog | None, meta: dict) -> None:
        rng = randomness.state()  # a collective: every process takes part
        if self.ctx.is_main:
            metrics.flush()
            save_state(self.out / CHECKPOINT, {**state_fn(), "rng": rng},
                       meta={"step": step, "world_size": self.ctx.world_size, **meta})
