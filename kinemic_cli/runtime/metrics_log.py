"""``metrics.csv`` of a training run, written as training goes, and its loss-curve plot.

One row per optimisation step with every loss term; on ``--resume`` rows past the
checkpoint's step are dropped first, so the file of a resumed run is the same as the file
of an uninterrupted one.  No wall-clock values go into it for the same reason (timings
are in the command's result instead).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["MetricsLog", "plot_loss_curves"]


class MetricsLog:
    """Append-only CSV of per-step loss terms, truncatable to a checkpoint's step."""

    def __init__(self, path: Path, *, columns: Sequence[str], resume_step: int | None = None):
        self.path, self.columns = Path(path), tuple(columns)
        rows = self.read(self.path) if (resume_step is not None and self.path.exists()) else []
        rows = [r for r in rows if int(r["step"]) <= (resume_step or 0)]
        with open(self.path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(self.columns)
            for r in rows:
                writer.writerow([r.get(c, "0.0") for c in self.columns])
        self._file = open(self.path, "a", newline="")
        self._writer = csv.writer(self._file)

    def log(self, step: int, values: dict[str, float]) -> None:
        """One row, flushed at once: ``metrics.csv`` can be followed (``tail -f``, a plot) while training runs."""
        self._writer.writerow([step] + [repr(float(values.get(c, 0.0))) for c in self.columns[1:]])
        self._file.flush()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def read(path: Path) -> list[dict[str, str]]:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))


def plot_loss_curves(metrics_csv: Path, out_png: Path, *, title: str) -> Path:
    """Every loss term against the step (moving average over 1% of the run), one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = MetricsLog.read(metrics_csv)
    fig, ax = plt.subplots(figsize=(7, 4))
    if rows:
        steps = np.array([int(r["step"]) for r in rows])
        window = max(1, len(rows) // 100)
        for key in [k for k in rows[0] if k not in ("step", "lr", "window_weight")]:
            values = np.array([float(r[key]) for r in rows])
            if not np.any(values):
                continue
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1:], smooth, label=key)
        ax.set_yscale("log")
        ax.legend()
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
