"""What the recogniser sees: pre-normalised clips, sampled to a fixed number of frames.

Pre-normalisation (:func:`prenormalise`) uses the skeleton's named landmarks, never the
joint indices of one dataset:

- 3D skeletons: translate so the root joint of the first valid frame (person 0) is the
  origin, then rotate so that the spine (root -> neck) points along +y and the hip line
  (left_hip -> right_hip) lies in the x-y plane pointing to +x (Gram-Schmidt on those two
  vectors).  Every frame and person gets the same rigid motion, so the clip's own motion
  (walking, turning) is kept.  This removes the camera yaw and position of each recording.
- 2D skeletons (image coordinates + score): centre on the root's mean position and divide
  by the mean root-to-hip-midpoint distance; no rotation (the image plane is not a world
  frame), the score channel untouched.

Temporal sampling (:func:`sample_indices`) splits a clip of ``T`` frames into ``L`` equal
segments and takes one frame per segment: a random one while training, the middle one at
test time.  Clips shorter than ``L`` repeat frames (a slowed copy) rather than loop, so a
kick is never glued to its own start.

:class:`ClipBank` holds a set of clips in memory as one padded array ``(N, T_max, M, V, C)``
plus lengths, and draws batches ``(B, M, L, V, C)`` from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import KinemicError
from ..skeletons import Skeleton, convert_joints
from ..store import Collection

__all__ = ["prenormalise", "sample_indices", "ClipBank", "load_clip_bank"]


def _first_valid_frame(person0: np.ndarray) -> int:
    energy = np.abs(person0).reshape(person0.shape[0], -1).sum(axis=1)
    valid = np.flatnonzero(energy > 0)
    return int(valid[0]) if valid.size else 0


def prenormalise(frames: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """``[T, M, V, C] -> [T, M, V, C]`` float32; see the module docstring for the frame."""
    x = np.array(frames, dtype=np.float64, copy=True)
    if x.ndim != 4 or x.shape[2] != skeleton.num_joints:
        raise KinemicError(f"clip shaped {x.shape} does not match skeleton {skeleton.name!r} ([T, M, {skeleton.num_joints}, C])")
    root = skeleton.landmark("root")
    missing = np.all(x == 0, axis=-1, keepdims=True)  # absent persons/joints stay exactly zero
    if skeleton.is_2d:
        coords = x[..., :2]
        hips = 0.5 * (coords[:, :, skeleton.landmark("left_hip")] + coords[:, :, skeleton.landmark("right_hip")])
        centre = coords[:, 0, root].mean(axis=0)
        scale = np.linalg.norm(hips[:, 0] - coords[:, 0, root], axis=-1).mean()
        coords -= centre
        if scale > 1e-6:
            coords /= scale
        x[..., :2] = coords
        return np.where(missing, 0.0, x).astype(np.float32)
    f = _first_valid_frame(x[:, 0])
    first = x[f, 0]
    x -= first[root]
    spine = first[skeleton.landmark("neck")] - first[root]
    hips = first[skeleton.landmark("right_hip")] - first[skeleton.landmark("left_hip")]
    y_axis = spine / max(np.linalg.norm(spine), 1e-9)
    hips = hips - hips.dot(y_axis) * y_axis
    if np.linalg.norm(hips) < 1e-9 or np.linalg.norm(spine) < 1e-9:
        return np.where(missing, 0.0, x).astype(np.float32)  # degenerate pose: centred only
    x_axis = hips / np.linalg.norm(hips)
    z_axis = np.cross(x_axis, y_axis)
    rotation = np.stack([x_axis, y_axis, z_axis])  # rows: the new axes in old coordinates
    x = x @ rotation.T
    return np.where(missing, 0.0, x).astype(np.float32)


def sample_indices(lengths: np.ndarray, clip_len: int, rng: np.random.Generator | None) -> np.ndarray:
    """``(N, clip_len)`` frame indices; random within segments if ``rng`` else segment centres."""
    lengths = np.asarray(lengths, dtype=np.float64)[:, None]
    offset = rng.random((lengths.shape[0], clip_len)) if rng is not None else np.full((1, clip_len), 0.5)
    positions = (np.arange(clip_len)[None, :] + offset) * lengths / clip_len
    return np.minimum(np.floor(positions).astype(np.int64), lengths.astype(np.int64) - 1)


@dataclass
class ClipBank:
    """Clips in memory: ``data (N, T_max, M, V, C)`` float32, ``lengths (N,)``, ``labels (N,)``.

    ``origin`` says where each clip came from (``"real"``, ``"synth"``, ``"augment"``) and
    ``source_index`` its index in its collection (-1 for made-up copies).
    """

    data: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    origin: np.ndarray
    source_index: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batch(self, rows: np.ndarray, clip_len: int, rng: np.random.Generator | None,
              keep: slice | None = None) -> np.ndarray:
        """``(B, M, clip_len, V, C)`` float32 for the clips at ``rows``.

        ``keep``: frames are drawn for every row (the global batch, so the draws do not
        depend on the number of processes) and only the rows ``rows[keep]`` are read.
        """
        idx = sample_indices(self.lengths[rows], clip_len, rng)
        rows = np.asarray(rows)
        if keep is not None:
            rows, idx = rows[keep], idx[keep]
        frames = self.data[rows[:, None], idx]  # (B, L, M, V, C)
        return np.ascontiguousarray(frames.transpose(0, 2, 1, 3, 4))

    @staticmethod
    def from_clips(clips: list[np.ndarray], labels, origin: str, source_index=None) -> "ClipBank":
        if not clips:
            raise KinemicError(f"no {origin} clips to train or test on")
        t_max = max(c.shape[0] for c in clips)
        m, v, c = clips[0].shape[1:]
        data = np.zeros((len(clips), t_max, m, v, c), dtype=np.float32)
        for i, clip in enumerate(clips):
            data[i, : clip.shape[0], : clip.shape[1]] = clip[:, :m]
        n = len(clips)
        return ClipBank(
            data=data,
            lengths=np.array([clip.shape[0] for clip in clips], dtype=np.int64),
            labels=np.asarray(labels, dtype=np.int64),
            origin=np.array([origin] * n, dtype=object),
            source_index=np.asarray(source_index if source_index is not None else np.full(n, -1), dtype=np.int64),
        )

    @staticmethod
    def concat(banks: list["ClipBank"]) -> "ClipBank":
        banks = [b for b in banks if len(b)]
        t_max = max(b.data.shape[1] for b in banks)
        padded = [np.pad(b.data, ((0, 0), (0, t_max - b.data.shape[1]), (0, 0), (0, 0), (0, 0))) for b in banks]
        return ClipBank(
            data=np.concatenate(padded),
            lengths=np.concatenate([b.lengths for b in banks]),
            labels=np.concatenate([b.labels for b in banks]),
            origin=np.concatenate([b.origin for b in banks]),
            source_index=np.concatenate([b.source_index for b in banks]),
        )


def load_clip_bank(coll: Collection, indices: np.ndarray, *, label_map: dict[int, int], skeleton: Skeleton,
                   persons: int, origin: str) -> ClipBank:
    """Read, convert (joint map) and pre-normalise ``coll``'s clips at ``indices``.

    ``label_map`` maps the collection's label ids to the recogniser's class ids; clips of
    other labels must already be filtered out by the caller.
    """
    clips, labels = [], []
    for i in indices:
        frames = np.asarray(coll.frames(int(i)), dtype=np.float32)
        if coll.skeleton.name != skeleton.name:
            frames = convert_joints(frames, coll.skeleton.name, skeleton.name)
        if frames.shape[1] < persons:
            frames = np.concatenate([frames, np.zeros((frames.shape[0], persons - frames.shape[1], *frames.shape[2:]),
                                                      np.float32)], axis=1)
        clips.append(prenormalise(frames[:, :persons], skeleton))
        labels.append(label_map[int(coll.labels[int(i)])])
    return ClipBank.from_clips(clips, labels, origin, source_index=np.asarray(indices, dtype=np.int64))
