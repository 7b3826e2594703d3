"""Write a generation plan into the store: chunked, resumable, safe to kill.

The model side is a :class:`ClipSampler` (anything that turns planned clips into joint
arrays on the dataset's skeleton); this module owns only the bookkeeping: which clips are
still missing, in which order they are stored (plan = sample-id order), and how often the
work is made durable (one complete part per chunk, so a kill loses at most one chunk).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..clip import Clip
from ..runtime.progress import progress_task
from ..skeletons import Skeleton
from ..store import Collection, MotionStore
from .plan import PlannedClip, length_batches

__all__ = ["ClipSampler", "generate_into_store"]


class ClipSampler(Protocol):
    skeleton: Skeleton
    fps: float
    class_names: list[str]

    def sample(self, batch: list[PlannedClip]) -> list[np.ndarray]:
        """Joint positions ``[T, J, C]`` (T = ``item.length``) for each planned clip, in order."""
        ...


def generate_into_store(
    sampler: ClipSampler,
    plan: list[PlannedClip],
    store: MotionStore,
    collection: str,
    *,
    batch_size: int = 16,
    resume: bool = False,
    overwrite: bool = False,
    provenance: dict | None = None,
    attrs: dict | None = None,
    chunk: int = 256,
    condition_names: dict[int, str] | None = None,
) -> Collection:
    writer = store.writer(collection, skeleton=sampler.skeleton, fps=sampler.fps, class_names=sampler.class_names,
                          kind="har", persons=1, attrs={"synthetic": True, **(attrs or {})}, resume=resume,
                          overwrite=overwrite, part_frames=10**9)
    todo = [item for item in plan if item.sample_id not in writer.done_ids]
    names = condition_names or {}
    try:
        with progress_task(f"generate {collection}", len(plan), completed=len(plan) - len(todo)) as bar:
            for start in range(0, len(todo), chunk):
                block = todo[start : start + chunk]
                results: dict[str, np.ndarray] = {}
                for batch in length_batches(block, batch_size):
                    for item, joints in zip(batch, sampler.sample(batch)):
                        results[item.sample_id] = joints
                    bar.advance(len(batch))
                for item in block:  # stored in plan order, whatever the batching was
                    condition = item.text if item.text else names.get(item.label, sampler.class_names[item.label])
                    writer.add(Clip(frames=results[item.sample_id], sample_id=item.sample_id, label=item.label,
                                    extra={"seed": item.seed, "index": item.index, "condition": condition}))
                writer.flush()
        return writer.commit(provenance or {})
    except KeyboardInterrupt:
        writer.release()  # complete parts stay for --resume
        raise
