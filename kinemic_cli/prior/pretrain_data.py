"""The data side of pretraining: captioned windows of a t2m collection as normalised features.

Every caption is one training item: a whole-clip caption pairs with the whole clip, a
partial caption (frame tags) with the sub-clip it describes, so a corpus of long chained
motions also teaches the single actions the few-shot targets are made of.  Items longer
than the prior's ``max_frames`` are randomly cropped (as MDM does on HumanML3D) or, with
``long_windows='skip'``, left out.

Features are computed once per clip (on the whole clip: every ``rootrel``/``hml263``
value is relative to the body, so a window's slice equals the window's own features) and
kept in RAM when they fit ``memory_budget``; otherwise each clip is read from the store
when drawn.  A HumanML3D collection that carries its own 263-d vectors (``frame_data``
``hml263``) is used as it is.

Batches come from one ``numpy`` Generator whose state is checkpointed: a resumed run
draws exactly what the uninterrupted run would have.  The *global* batch is drawn whole
and each process takes its own rows, so the batch means the same thing under torchrun.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import KinemicError
from ..motion.features import FeatureSpace
from ..motion.geometric_augment import AugmentConfig, augment_clip
from ..motion.normaliser import Normaliser
from ..runtime.progress import track
from ..store import Collection

__all__ = ["CaptionedWindows", "captioned_windows", "ClipFeatureBank", "PostureAugment", "fit_normaliser", "draw_batch"]


@dataclass
class CaptionedWindows:
    """``windows [N, 3]`` rows ``(clip, start, end)``; ``text_ids[N]`` index ``texts``."""

    windows: np.ndarray
    text_ids: np.ndarray
    texts: list[str]

    def __len__(self) -> int:
        return int(len(self.windows))


def captioned_windows(source: Collection, clips: np.ndarray, *, min_frames: int,
                      max_frames: int | None = None) -> CaptionedWindows:
    """Every caption of the chosen clips as a window of at least ``min_frames`` frames.

    With ``max_frames``, windows longer than that are left out instead of being cropped
    later: a crop of a long chained motion no longer shows all its caption says.
    """
    table = source.caption_table()
    keep = np.isin(table["clip"], clips)
    lengths = source.lengths
    windows, text_ids, index = [], [], {}
    for clip, text, start, end in zip(table["clip"][keep], table["text"][keep], table["start"][keep], table["end"][keep]):
        length = int(lengths[int(clip)])
        start = max(0, int(start))
        end = length if int(end) <= 0 else min(length, int(end))
        if end - start < min_frames or (max_frames is not None and end - start > max_frames):
            continue
        windows.append((int(clip), start, end))
        text_ids.append(index.setdefault(str(text), len(index)))
    if not windows:
        limit = f" and at most {max_frames}" if max_frames is not None else ""
        raise KinemicError(f"collection {source.name!r}: no captioned window of at least {min_frames}{limit} frames "
                           "(pretraining needs a captioned t2m corpus)")
    return CaptionedWindows(np.asarray(windows, dtype=np.int64), np.asarray(text_ids, dtype=np.int64), list(index))


class ClipFeatureBank:
    """Raw (un-normalised) features ``[T, F]`` of each clip, cached in RAM within a budget."""

    def __init__(self, source: Collection, features: FeatureSpace, clips: np.ndarray, *,
                 memory_budget: int = 2 << 30):
        self.source, self.features = source, features
        self.use_stored = features.name == "hml263" and "hml263" in source.frame_data_names()
        needed = int(source.lengths[clips].sum()) * features.dim * 4
        self.cache: dict[int, np.ndarray] | None = {} if needed <= memory_budget else None

    def compute(self, clip: int) -> np.ndarray:
        if self.use_stored:
            return np.asarray(self.source.frame_data("hml263", clip), dtype=np.float32)
        frames = self.source.frames(clip)
        return self.features.from_joints(frames[:, 0])

    def get(self, clip: int) -> np.ndarray:
        if self.cache is None:
            return self.compute(clip)
        if clip not in self.cache:
            self.cache[clip] = self.compute(clip)
        return self.cache[clip]


class PostureAugment:
    """Posture and proportion variations of source windows (``pretrain --augment P``).

    Why: a prior trained on one corpus's bodies and postures does not reconstruct another
    dataset's clips even from a lightly noised clip (demo world, the shipped prior at
    ``t = 1`` of 50: pose error 6.5 cm on target clips against 0.8 cm on its own windows; a
    10 degree tilt or a 0.15 shear of its own windows gives 9.1 and 8.2 cm;
    ``bench/domain_gap.py``), so a few-shot student built on it starts from a manifold that
    has no room for the target's poses.  Measured at P = 0.5 (3,000 steps): the target gap
    narrows (4.2 cm) but the generated clips are no better (README, "The domain gap").
    Each drawn window is, with probability ``probability``, replaced by one geometric
    variation of its joints: the recogniser's augmentation (:mod:`kinemic_cli.motion.geometric_augment`:
    tilt, per-axis scale, shear, a time warp that keeps the length), its features computed
    from the varied joints.  The draws come from the training generator, one seed per row
    of the global batch, so runs resume and shard exactly.
    """

    def __init__(self, bank: ClipFeatureBank, probability: float,
                 cfg: AugmentConfig = AugmentConfig(time_scale=0.0)):
        self.bank, self.probability, self.cfg = bank, float(probability), cfg

    def window(self, clip: int, start: int, end: int, seed: int) -> np.ndarray:
        """Raw features ``[end - start, F]`` of one varied window."""
        joints = np.asarray(self.bank.source.frames(clip)[start:end, 0], dtype=np.float32)
        varied = augment_clip(joints[:, None], np.random.default_rng(seed), self.cfg)[:, 0]
        return self.bank.features.from_joints(varied)


def fit_normaliser(bank: ClipFeatureBank, clips: np.ndarray, augment: PostureAugment | None = None) -> Normaliser:
    """Per-feature mean/std over every frame of the training clips (streamed).

    With ``augment``, one varied copy of every clip counts too (weighted by the chance a
    window is varied), so the statistics describe the distribution the model trains on.
    """
    sums = squares = None
    count = 0.0
    for clip in track([int(c) for c in clips], "feature statistics"):
        pieces = [(bank.get(clip).astype(np.float64), 1.0)]
        if augment is not None and augment.probability > 0:
            varied = augment.window(clip, 0, int(bank.source.lengths[clip]), seed=clip).astype(np.float64)
            pieces = [(pieces[0][0], 1.0 - augment.probability), (varied, augment.probability)]
        for f, w in pieces:
            sums = w * f.sum(0) if sums is None else sums + w * f.sum(0)
            squares = w * (f ** 2).sum(0) if squares is None else squares + w * (f ** 2).sum(0)
            count += w * len(f)
    return Normaliser.fit(sums, squares, count)


def draw_batch(rng: np.random.Generator, items: CaptionedWindows, bank: ClipFeatureBank, normaliser: Normaliser,
               text_table: np.ndarray, *, batch_size: int, max_frames: int, rank: int = 0,
               world_size: int = 1, augment: PostureAugment | None = None) -> dict[str, torch.Tensor]:
    """The global batch's draws (all processes draw the same), then this process's rows.

    Rows are padded to the global batch's longest window, so noise drawn for the global
    batch fits every process's slice.
    """
    chosen = rng.integers(len(items), size=batch_size)
    crops = rng.random(batch_size)
    spans = []
    for r in range(batch_size):
        clip, start, end = (int(v) for v in items.windows[chosen[r]])
        if end - start > max_frames:
            start += int(crops[r] * (end - start - max_frames + 1))
            end = start + max_frames
        spans.append((clip, start, end))
    longest = max(end - start for _, start, end in spans)  # the GLOBAL batch's, on every process
    rows = list(range(rank, batch_size, world_size))
    varied = np.zeros(batch_size, dtype=bool)
    if augment is not None:  # drawn for the global batch only when on: runs without it keep their stream
        varied = rng.random(batch_size) < augment.probability
        seeds = rng.integers(2**62, size=batch_size)
    clips = [normaliser.normalise(augment.window(*spans[r], seed=int(seeds[r])) if varied[r]
                                  else bank.get(spans[r][0])[spans[r][1]:spans[r][2]]) for r in rows]
    x = np.zeros((len(clips), longest, clips[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(clips), longest), dtype=bool)
    for i, c in enumerate(clips):
        x[i, : len(c)] = c
        mask[i, : len(c)] = True
    text = text_table[items.text_ids[chosen[rows]]]
    return {"x": torch.from_numpy(x), "mask": torch.from_numpy(mask), "text": torch.from_numpy(text.astype(np.float32))}
