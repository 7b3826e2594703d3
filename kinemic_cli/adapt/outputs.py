"""What an adaptation run writes beside its weights besides metrics: the mined-window GIF, and its metric columns."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..skeletons import Skeleton

__all__ = ["METRIC_COLUMNS", "render_mined_windows"]

METRIC_COLUMNS = ("step", "total", "rec", "vel", "con", "win", "window_weight", "lr")


def render_mined_windows(path: Path, skeleton: Skeleton, clips: Sequence[np.ndarray], titles: Sequence[str], *,
                         fps: float, columns: int) -> Path:
    """A GIF of real shots next to the windows mined for their class (``[T, J, 3]`` each)."""
    from ..motion.render import render_clips_gif

    return render_clips_gif(list(clips), skeleton, path, titles=list(titles), fps=fps, size=160, columns=columns)
