"""The unit of data that flows from dataset adapters into the store and back out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Caption", "Clip", "SkippedItem"]


@dataclass(frozen=True)
class Caption:
    """A caption covering frames ``[start, end)`` of its clip (``end=None``: to the end)."""

    text: str
    start: int = 0
    end: int | None = None


@dataclass
class Clip:
    """One motion clip.

    ``frames`` is ``[T, M, J, C]`` float32 (time, persons, joints, channels).  Metadata
    that a dataset does not have stays at -1 / empty.  ``splits`` lists the named splits
    the clip belongs to (``"xsub/train"``); ``extra`` holds per-clip scalars (a generation
    seed, a condition string) and ``frame_data`` per-frame arrays ``[T, ...]`` that travel
    with the frames (e.g. HumanML3D's 263-d vectors).
    """

    frames: np.ndarray
    sample_id: str
    label: int = -1
    subject: int = -1
    camera: int = -1
    setup: int = -1
    replication: int = -1
    captions: list[Caption] = field(default_factory=list)
    splits: tuple[str, ...] = ()
    extra: dict[str, int | float | str] = field(default_factory=dict)
    frame_data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=np.float32)
        if self.frames.ndim == 3:  # [T, J, C] -> one person
            self.frames = self.frames[:, None]
        if self.frames.ndim != 4:
            raise ValueError(f"clip {self.sample_id}: frames must be [T, M, J, C], got shape {self.frames.shape}")

    @property
    def length(self) -> int:
        return int(self.frames.shape[0])


@dataclass(frozen=True)
class SkippedItem:
    """An input an adapter could not read, with the reason (reported, never fatal by default)."""

    path: str
    reason: str
    detail: str = ""
