"""The data side of adaptation: few-shot target clips, mined source windows, per-step batches.

Target clips may come from another skeleton and frame rate than the prior (real Kinect
``ntu25`` clips at 30 fps with an ``smpl22`` 20 fps prior): they are mapped with
:func:`kinemic_cli.skeletons.convert_joints` (refused with a clear message where no map
exists), resampled in time to the prior's fps and cropped to its longest sequence.  Both
sides are turned into the prior's normalised features by the same function.

Source windows are read from the store when drawn (one contiguous HDF5 read each) rather
than cached, so memory stays flat however many neighbours (``top_k x classes``) were
mined.  All randomness of batch assembly comes from one ``numpy`` Generator whose state is
checkpointed, so a resumed run draws exactly what the uninterrupted run would have.

Under torchrun every process draws the whole *global* batch from the same Generator state
and then reads and converts only its own rows ``rank::world_size``, padded to the global
batch's longest clip (known without reading: :func:`prepared_length`), so the batch and
the noise drawn for it mean the same thing whatever the number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..errors import KinemicError
from ..motion.resample import resample_time
from ..skeletons import Skeleton, convert_joints
from ..store import Collection
from .mining import MiningResult

__all__ = ["JointsToFeatures", "FewShotClips", "prepare_joints", "prepared_length", "paced_length", "load_fewshot_clips", "BatchSampler",
           "pad_stack"]

# joints [T, J, 3] on the prior's skeleton -> normalised features [T, F]
JointsToFeatures = Callable[[np.ndarray], np.ndarray]


def prepare_joints(frames: np.ndarray, *, skeleton: Skeleton, fps: float, prior_skeleton: Skeleton,
                   prior_fps: float, max_frames: int, where: str) -> np.ndarray:
    """One clip ``[T, M, J, C]`` -> first person's joints ``[T', J', 3]`` on the prior's skeleton and fps."""
    if skeleton.is_2d:
        raise KinemicError(f"{where}: skeleton {skeleton.name!r} is 2D; adaptation needs 3D joints like the prior's")
    joints = np.asarray(frames, dtype=np.float32)
    joints = joints[:, 0] if joints.ndim == 4 else joints
    try:
        joints = convert_joints(joints, skeleton.name, prior_skeleton.name)
    except KinemicError as exc:
        raise KinemicError(f"{where}: cannot use {skeleton.name!r} clips with a {prior_skeleton.name!r} prior ({exc})") from None
    if abs(fps - prior_fps) > 1e-6 and len(joints) > 1:
        joints = resample_time(joints, _resampled_length(len(joints), fps, prior_fps))
    return joints[:max_frames]


def _resampled_length(frames: int, fps: float, prior_fps: float) -> int:
    if abs(fps - prior_fps) > 1e-6 and frames > 1:
        return max(2, int(round(frames * prior_fps / fps)))
    return int(frames)


def paced_length(frames: int, pace: float) -> int:
    """Frames of a ``frames``-frame clip played ``pace`` times as fast (at least 2)."""
    return max(2, int(round(frames / float(pace))))


def prepared_length(frames: int, *, fps: float, prior_fps: float, max_frames: int) -> int:
    """How many frames :func:`prepare_joints` returns for a clip of ``frames`` frames (without reading it)."""
    return min(_resampled_length(frames, fps, prior_fps), int(max_frames))


@dataclass
class FewShotClips:
    """The target shots on the prior's skeleton: joints ``[T, J, 3]`` and features ``[T, F]``."""

    indices: np.ndarray
    labels: np.ndarray
    sample_ids: list[str]
    joints: list[np.ndarray]
    features: list[np.ndarray]

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(f) for f in self.features], dtype=np.int64)


def load_fewshot_clips(coll: Collection, indices: np.ndarray, *, prior_skeleton: Skeleton, prior_fps: float,
                       max_frames: int, to_features: JointsToFeatures, min_frames: int = 4,
                       stored: Callable[[Collection, int], np.ndarray | None] | None = None) -> FewShotClips:
    """The shots on the prior's skeleton and fps; ``stored(coll, i)``: a clip's stored features, if any."""
    joints, features, labels, ids = [], [], [], []
    for i in np.asarray(indices, dtype=np.int64):
        where = f"collection {coll.name!r} clip {coll.sample_ids[i]}"
        j = prepare_joints(coll.frames(int(i)), skeleton=coll.skeleton, fps=coll.fps, prior_skeleton=prior_skeleton,
                           prior_fps=prior_fps, max_frames=max_frames, where=where)
        if len(j) < min_frames:
            raise KinemicError(f"{where}: only {len(j)} frames; few-shot clips need at least {min_frames}")
        joints.append(j)
        own = stored(coll, int(i)) if stored is not None else None
        features.append(np.asarray(own[:max_frames] if own is not None else to_features(j), dtype=np.float32))
        labels.append(int(coll.labels[i]))
        ids.append(str(coll.sample_ids[i]))
    return FewShotClips(np.asarray(indices, dtype=np.int64), np.array(labels, dtype=np.int64), ids, joints, features)


def pad_stack(arrays: list[np.ndarray], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged ``[T_i, F]`` arrays -> ``(padded [B, T, F], mask [B, T])``, padding at the end.

    ``T`` is ``length`` (at least the longest array) or the longest array.
    """
    longest = max(len(a) for a in arrays)
    if length is not None:
        if length < longest:
            raise ValueError(f"pad_stack: length {length} is shorter than the longest array ({longest})")
        longest = int(length)
    out = np.zeros((len(arrays), longest, arrays[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(arrays), longest), dtype=bool)
    for b, a in enumerate(arrays):
        out[b, : len(a)] = a
        mask[b, : len(a)] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


class BatchSampler:
    """Draws each step's batch: which shots, which mined neighbour and which captions.

    ``class_ids`` gives each shot's row in the mining result (the adapted model's class
    id).  With ``mining=None`` (baselines) only target clips come back.  ``rank`` /
    ``world_size``: the global batch is drawn, this process's rows come back
    (``source_length(frames)`` is the prepared length of a source window of ``frames``
    frames, so padding can follow the global batch without reading other rows).
    """

    def __init__(self, shots: FewShotClips, class_ids: np.ndarray, class_text: list[np.ndarray], *, batch_size: int,
                 rng: np.random.Generator, mining: MiningResult | None = None, source: Collection | None = None,
                 source_prepare: Callable[[np.ndarray, str], np.ndarray] | None = None,
                 to_features: JointsToFeatures | None = None, source_length: Callable[[int], int] | None = None,
                 rank: int = 0, world_size: int = 1, source_stored: Callable | None = None):
        self.shots, self.class_ids, self.class_text = shots, np.asarray(class_ids, dtype=np.int64), class_text
        self.batch_size, self.rng = int(batch_size), rng
        self.mining, self.source, self.source_prepare, self.to_features = mining, source, source_prepare, to_features
        self.source_length, self.source_stored = source_length, source_stored
        self.rows = slice(int(rank), None, int(world_size))

    @property
    def global_batch(self) -> int:
        """Clips per step over all processes: ``batch_size``, or all shots when they are fewer."""
        return min(self.batch_size, len(self.shots.features))

    def _choose_shots(self) -> np.ndarray:
        n = len(self.shots.features)
        if self.batch_size >= n:
            return np.arange(n)
        return np.sort(self.rng.choice(n, size=self.batch_size, replace=False))

    def source_window_joints(self, candidate: int, pace: float = 1.0) -> np.ndarray:
        """A mined window's joints on the prior's skeleton and fps, played ``pace`` times as fast."""
        clip, start, end = (int(v) for v in self.mining.candidates.windows[candidate])
        frames = self.source.frames(clip)[start:end]
        joints = self.source_prepare(frames, f"source {self.source.name!r} clip {self.source.sample_ids[clip]}")
        if pace != 1.0 and len(joints) > 1:
            joints = resample_time(joints, paced_length(len(joints), pace))
        return joints

    def source_window_features(self, candidate: int, pace: float = 1.0) -> np.ndarray:
        """A mined window's normalised features: stored ones when the source has them (HumanML3D) and it
        plays at its own pace, else computed from its (re-timed) joints."""
        if self.source_stored is not None and pace == 1.0:
            clip, start, end = (int(v) for v in self.mining.candidates.windows[candidate])
            own = self.source_stored(self.source, clip, start=start, end=end)
            if own is not None:
                return np.asarray(own[: self._window_length(candidate)], dtype=np.float32)
        return np.asarray(self.to_features(self.source_window_joints(candidate, pace)), dtype=np.float32)

    def _window_length(self, candidate: int, pace: float = 1.0) -> int:
        _, start, end = (int(v) for v in self.mining.candidates.windows[candidate])
        if self.source_length is None:
            return len(self.source_window_joints(candidate, pace))
        frames = int(self.source_length(end - start))
        return paced_length(frames, pace) if pace != 1.0 and frames > 1 else frames

    def draw(self) -> dict:
        """This process's rows of one global batch (see :class:`~kinemic_cli.adapt.losses.AdaptBatch`).

        Every draw is made for the whole global batch, in the same order whatever the
        number of processes; only reading and converting is limited to the local rows.
        """
        rows = self.rows
        chosen = self._choose_shots()
        classes = self.class_ids[chosen]
        text_choice = [int(self.rng.integers(len(self.class_text[c]))) for c in classes]
        class_text = np.stack([self.class_text[c][j] for c, j in zip(classes[rows], text_choice[rows])])
        longest = max(len(self.shots.features[i]) for i in chosen)
        target, target_mask = pad_stack([self.shots.features[i] for i in chosen[rows]], longest)
        batch = {"target": target, "target_mask": target_mask, "labels": torch.from_numpy(classes[rows]),
                 "class_text": torch.from_numpy(class_text.astype(np.float32)), "chosen": chosen[rows]}
        if self.mining is None:
            return batch
        neighbours, source_weight, paces = self._draw_neighbours(classes)
        texts = []
        for n in neighbours:
            ids = self.mining.candidates.caption_ids[int(n)]
            texts.append(self.mining.text_embeddings[ids[self.rng.integers(len(ids))]])
        longest_source = max(self._window_length(int(n), float(p)) for n, p in zip(neighbours, paces))
        sources = [self.source_window_features(int(n), float(p)) for n, p in zip(neighbours[rows], paces[rows])]
        batch["source"], batch["source_mask"] = pad_stack(sources, longest_source)
        batch["source_text"] = torch.from_numpy(np.stack(texts[rows]).astype(np.float32))
        batch["neighbours"] = neighbours[rows]
        if source_weight is not None:
            batch["source_weight"] = torch.from_numpy(source_weight[rows])
        return batch

    def _draw_neighbours(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """One mined window per target clip and its play-speed factor; with a kinematic gate only kept
        windows are drawn.

        A class whose windows were all gated out still draws one (so the batch keeps its
        shape and the random stream its length) with weight 0: its window and contrastive
        terms then count for nothing.
        """
        mining = self.mining
        k = mining.neighbours.shape[1]
        pace = mining.pace if mining.pace is not None else np.ones(mining.neighbours.shape, np.float32)
        if mining.weights is None:
            columns = self.rng.integers(k, size=len(classes))
            return mining.neighbours[classes, columns], None, pace[classes, columns]
        columns, weights = np.zeros(len(classes), np.int64), np.zeros(len(classes), np.float32)
        for i, c in enumerate(classes):
            kept = np.flatnonzero(mining.weights[c] > 0)
            u = self.rng.random()
            if kept.size:
                columns[i], weights[i] = kept[min(int(u * kept.size), kept.size - 1)], 1.0
            else:
                columns[i] = min(int(u * k), k - 1)
        return mining.neighbours[classes, columns], weights, pace[classes, columns]
