"""A small, learnable HAR store for the recogniser tests (real HDF5, real splits).

Each class moves one limb (a wrist, a knee, the head) sinusoidally on top of a standing
smpl22 pose; every clip gets a random yaw, position, length, speed and sensor noise, so
the classes are separable only by *which* joint moves — what ST-GCN should learn.
"""

from __future__ import annotations

import numpy as np

from kinemic_cli.clip import Clip
from kinemic_cli.skeletons import SMPL22
from kinemic_cli.store import MotionStore
from kinemic_cli.store.splits import fewshot_identity, make_fewshot_split

CLASS_NAMES = ["wave left", "wave right", "kick", "nod"]
_MOVING = {0: 20, 1: 21, 2: 4, 3: 15}  # left_wrist, right_wrist, left_knee, head


def standing_pose() -> np.ndarray:
    """``[22, 3]`` smpl22 joints, Y up, facing +z, left side at +x."""
    p = np.zeros((22, 3), np.float32)
    p[0] = [0, 0.9, 0]
    p[1], p[2] = [0.1, 0.85, 0], [-0.1, 0.85, 0]
    p[3], p[6], p[9] = [0, 1.0, 0], [0, 1.15, 0], [0, 1.3, 0]
    p[4], p[5] = [0.1, 0.5, 0], [-0.1, 0.5, 0]
    p[7], p[8] = [0.1, 0.1, 0], [-0.1, 0.1, 0]
    p[10], p[11] = [0.1, 0.0, 0.1], [-0.1, 0.0, 0.1]
    p[12], p[15] = [0, 1.45, 0], [0, 1.6, 0]
    p[13], p[14] = [0.08, 1.4, 0], [-0.08, 1.4, 0]
    p[16], p[17] = [0.2, 1.4, 0], [-0.2, 1.4, 0]
    p[18], p[19] = [0.45, 1.4, 0], [-0.45, 1.4, 0]
    p[20], p[21] = [0.7, 1.4, 0], [-0.7, 1.4, 0]
    return p


def yaw_matrix(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)


def make_har_clip(label: int, rng: np.random.Generator, sample_id: str, split: str) -> Clip:
    length = int(rng.integers(24, 40))
    t = np.arange(length) / 20.0
    frames = np.repeat(standing_pose()[None], length, axis=0)
    joint = _MOVING[label]
    phase = 2 * np.pi * rng.uniform(1.0, 1.6) * t
    frames[:, joint, 1] += 0.25 * np.sin(phase)
    frames[:, joint, 2] += 0.2 * np.cos(phase)
    frames = frames @ yaw_matrix(rng.uniform(-np.pi, np.pi)).T + np.array([rng.uniform(-1, 1), 0, rng.uniform(-1, 1)])
    frames += rng.normal(scale=0.01, size=frames.shape)
    return Clip(frames=frames[:, None].astype(np.float32), sample_id=sample_id, label=label, subject=int(rng.integers(1, 9)),
                splits=(split,))


def write_har_store(path, *, train_per_class: int = 16, val_per_class: int = 8, seed: int = 0,
                    name: str = "toy") -> MotionStore:
    store = MotionStore(path)
    rng = np.random.default_rng(seed)
    writer = store.writer(name, skeleton=SMPL22, fps=20, class_names=CLASS_NAMES, kind="har", persons=1,
                          attrs={"protocols": ["xsub"]})
    n = 0
    for split, per_class in (("xsub/train", train_per_class), ("xsub/val", val_per_class)):
        for label in range(len(CLASS_NAMES)):
            for _ in range(per_class):
                writer.add(make_har_clip(label, rng, f"c{n:05d}", split))
                n += 1
    writer.commit({"command": "test"})
    return store


def stamp_of_shots(store: MotionStore, shots: int, fewshot_seed: int = 42, real: str = "toy") -> dict:
    """The few-shot identity a generator adapted on these shots writes into its collections."""
    name, indices = make_fewshot_split(store, real, shots=shots, seed=fewshot_seed)
    return fewshot_identity(store, real, name, indices, shots=shots, seed=fewshot_seed).to_dict()


def write_synthetic(store: MotionStore, name: str, *, class_names: list[str], per_class: int = 6, seed: int = 1,
                    noise: float = 0.0, label_of=None, shots: int | None = None, fewshot_seed: int = 42) -> None:
    """A 'generated' collection: clips made like the real ones (plus optional extra noise).

    ``shots``: stamp it as made by a generator adapted on that few-shot split of ``toy``.
    """
    rng = np.random.default_rng(seed)
    attrs = {"synthetic": True}
    if shots is not None:
        attrs["fewshot"] = stamp_of_shots(store, shots, fewshot_seed)
    writer = store.writer(name, skeleton=SMPL22, fps=20, class_names=class_names, kind="har", persons=1,
                          attrs=attrs)
    n = 0
    for k, cname in enumerate(class_names):
        source_label = CLASS_NAMES.index(cname) if label_of is None else label_of(cname)
        for _ in range(per_class):
            clip = make_har_clip(source_label, rng, f"s{n:05d}", "none")
            clip.frames = clip.frames + rng.normal(scale=noise, size=clip.frames.shape).astype(np.float32)
            clip.label, clip.splits = k, ()
            writer.add(clip)
            n += 1
    writer.commit({"command": "test"})
