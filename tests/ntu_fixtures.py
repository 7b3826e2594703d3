"""Writers of dataset files in their real on-disk layouts, for tests and benches.

Written from the format specification (``FORMATS.md``), never from the readers under test:

- :func:`write_skeleton` writes an NTU RGB+D ``.skeleton`` file byte-for-byte in the release
  layout (CRLF line ends, 10-field body info lines with 17-digit body ids, a ``25`` line,
  25 joint lines of 12 fields, frames with 0 bodies) and returns the xyz values exactly
  as a reader must find them (the printed decimals, as float32).
- :func:`write_kinetics` writes an ST-GCN Kinetics-skeleton JSON with its quirks.
- The ``broken_*`` writers produce the traps seen in the wild: truncated downloads, a
  26-joint impostor with an NTU name, NaN, empty files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_JOINTS = 25
FIRST_BODY_ID = 72057594037927936  # 2**56: real Kinect body ids are 17-digit integers near it


@dataclass
class Body:
    """One tracked body: present on frames ``start .. start + len(xyz) - 1``."""

    body_id: int
    xyz: np.ndarray  # [n, 25, 3]
    start: int = 0


def number(x: float) -> str:
    """Kinect's C# ``float.ToString()``: up to 7 significant digits, no trailing zeros."""
    return f"{x:.7g}"


def printed(xyz: np.ndarray) -> np.ndarray:
    """The float32 values a reader must get back for ``xyz`` once printed by :func:`number`."""
    flat = [float(number(v)) for v in np.asarray(xyz, np.float64).ravel()]
    return np.array(flat, dtype=np.float32).reshape(np.shape(xyz))


def smooth_motion(rng: np.random.Generator, frames: int, *, amplitude: float = 0.2,
                  offset: tuple[float, float, float] = (0.0, 0.0, 3.0)) -> np.ndarray:
    """A plausible moving body ``[frames, 25, 3]``: a rest pose plus per-joint sinusoids (metres)."""
    rest = rng.normal(scale=0.3, size=(1, NUM_JOINTS, 3)) + np.asarray(offset)
    t = np.arange(frames)[:, None, None] / 30.0
    freq = rng.uniform(0.3, 1.5, size=(1, NUM_JOINTS, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(1, NUM_JOINTS, 3))
    return rest + amplitude * np.sin(2 * np.pi * freq * t + phase)


def _joint_lines(xyz: np.ndarray, rng: np.random.Generator) -> list[str]:
    lines = []
    for x, y, z in np.asarray(xyz, np.float64):
        depth = (256 + 300 * x / z, 212 - 300 * y / z)
        colour = (960 + 1000 * x / z, 540 - 1000 * y / z)
        quat = rng.normal(size=4)
        quat /= np.linalg.norm(quat)
        state = int(rng.choice([1, 2, 2, 2]))
        fields = [x, y, z, *depth, *colour, *quat]
        lines.append(" ".join(number(v) for v in fields) + f" {state}")
    return lines


def skeleton_text(num_frames: int, bodies: list[Body], *, seed: int = 0, joints: int = NUM_JOINTS,
                  values_per_joint: int = 12) -> list[str]:
    """The lines of a ``.skeleton`` file (without line ends)."""
    rng = np.random.default_rng(seed)
    lines = [str(num_frames)]
    for t in range(num_frames):
        present = [b for b in bodies if b.start <= t < b.start + len(b.xyz)]
        lines.append(str(len(present)))
        for b in present:
            lean = rng.uniform(-0.2, 0.2, size=2)
            lines.append(f"{b.body_id} 0 1 1 1 1 0 {number(lean[0])} {number(lean[1])} 2")
            lines.append(str(joints))
            if joints == NUM_JOINTS and values_per_joint == 12:
                lines.extend(_joint_lines(b.xyz[t - b.start], rng))
            else:  # an impostor (a hand dataset): other joint count, 3 values a joint
                lines.extend(" ".join(number(v) for v in rng.normal(size=values_per_joint)) for _ in range(joints))
    return lines


def write_skeleton(path: Path, num_frames: int, bodies: list[Body], *, crlf: bool = True, seed: int = 0) -> dict[int, np.ndarray]:
    """Write a real-layout ``.skeleton`` file; return ``{body_id: [num_frames, 25, 3]}`` as a reader sees it.

    Frames where a body is absent are zero in its returned track.
    """
    end = "\r\n" if crlf else "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((end.join(skeleton_text(num_frames, bodies, seed=seed)) + end).encode("ascii"))
    tracks = {}
    for b in bodies:
        track = np.zeros((num_frames, NUM_JOINTS, 3), np.float32)
        track[b.start : b.start + len(b.xyz)] = printed(b.xyz)
        tracks[b.body_id] = track
    return tracks


def ntu_name(setup: int, camera: int, performer: int, replication: int, action: int) -> str:
    return f"S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}"


def write_clip(folder: Path, name: str, *, frames: int = 40, persons: int = 1, seed: int = 0,
               crlf: bool = True) -> dict[int, np.ndarray]:
    """A plausible clip of ``persons`` bodies present on every frame."""
    rng = np.random.default_rng(seed)
    bodies = [Body(FIRST_BODY_ID + 4000 + 17 * seed + k, smooth_motion(rng, frames, offset=(0.6 * k, 0.0, 3.0)))
              for k in range(persons)]
    return write_skeleton(folder / f"{name}.skeleton", frames, bodies, crlf=crlf, seed=seed)


# ------------------------------------------------------------------ the traps seen in the wild


def broken_truncated(path: Path, *, seed: int = 0) -> None:
    """A broken download: the file stops in the middle of a joint line."""
    write_clip(path.parent, path.stem, frames=30, seed=seed)
    data = path.read_bytes()
    cut = data.rfind(b"\r\n", 0, len(data) // 2) + 2 + 17  # 17 bytes into a line
    path.write_bytes(data[:cut])


def broken_impostor(path: Path, *, seed: int = 0) -> None:
    """A hand dataset's file under an NTU name: 26 joints of 3 values each."""
    rng = np.random.default_rng(seed)
    bodies = [Body(FIRST_BODY_ID + 1, smooth_motion(rng, 20))]
    lines = skeleton_text(20, bodies, seed=seed, joints=26, values_per_joint=3)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def broken_nan(path: Path, *, seed: int = 0, frame: int = 7) -> None:
    """A real-layout file with NaN coordinates on one frame."""
    rng = np.random.default_rng(seed)
    xyz = smooth_motion(rng, 20)
    xyz[frame, 3] = np.nan
    write_skeleton(path, 20, [Body(FIRST_BODY_ID + 2, xyz)], seed=seed)


def broken_empty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


# ------------------------------------------------------------------ Kinetics-skeleton


def kinetics_person(rng: np.random.Generator, *, score: float) -> dict:
    pose = rng.uniform(0.1, 0.9, size=36).round(3)
    scores = np.full(18, score).round(3)
    return {"pose": [float(v) for v in pose], "score": [float(v) for v in scores]}


def write_kinetics(path: Path, people_per_frame: list[list[dict]], *, label: str, label_index: int,
                   first_index: int = 1) -> None:
    """One ST-GCN Kinetics-skeleton JSON: ``frame_index`` counts from ``first_index``."""
    data = [{"frame_index": t + first_index, "skeleton": people} for t, people in enumerate(people_per_frame)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"data": data, "label": label, "label_index": label_index}))


def kinetics_array(people_per_frame: list[list[dict]], persons: int) -> np.ndarray:
    """What a reader must produce: per frame, the ``persons`` with the highest total score."""
    out = np.zeros((len(people_per_frame), persons, 18, 3), np.float32)
    for t, people in enumerate(people_per_frame):
        ranked = sorted(people, key=lambda p: -sum(p["score"]))[:persons]
        for m, p in enumerate(ranked):
            out[t, m, :, 0] = p["pose"][0::2]
            out[t, m, :, 1] = p["pose"][1::2]
            out[t, m, :, 2] = p["score"]
    return out
