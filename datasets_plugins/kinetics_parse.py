"""Reading one ST-GCN Kinetics-skeleton JSON into ``[T, persons, 18, 3]`` (x, y, score).

What the release does that a reader must survive (FORMATS.md):

- ``frame_index`` counts from 1 in the release and from 0 in files made by the ST-GCN demo.
  ``auto`` takes 0-based when some entry has index 0, else 1-based (a 1-based file whose
  first frames are empty then still starts at its true frame 1).
- Clips longer than 300 frames: every frame is kept (``T`` = last index - base + 1).
- ``"data": []`` and files with no person or only zero scores: ``empty``.
- Up to ~11 people in a frame: per frame, the ``persons`` with the highest total score are
  kept, best first (ties keep file order), as the ST-GCN tools do.  People are not
  tracked across frames: the release has no identities.

People are gathered from the whole file into two arrays and ranked with one ``lexsort``,
so the work in Python is the JSON decoding, not a loop over people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

__all__ = ["KineticsFileError", "KineticsFile", "parse_kinetics"]

FLOAT32_MAX = float(np.finfo(np.float32).max)

JOINTS = 18
#: frames a file may claim beyond the entries it holds (frame indices can skip empty frames, not
#: jump to 1e11: a number like that would allocate until the machine runs out of memory)
FRAME_SLACK = 1000


class KineticsFileError(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class KineticsFile:
    frames: np.ndarray  # [T, persons, 18, 3] float32: x, y, score
    label_index: int | None  # as written inside the file
    frame_base: int  # 0 or 1
    most_people: int  # the most people seen in one frame


def _entries(data: list) -> tuple[list[int], list, list, list[int]]:
    frame_index, poses, scores, owner = [], [], [], []
    for k, frame in enumerate(data):
        if not isinstance(frame, dict) or "frame_index" not in frame:
            raise KineticsFileError("not a skeleton file", f"data[{k}] has no frame_index")
        index = frame["frame_index"]
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise KineticsFileError("not a skeleton file", f"data[{k}].frame_index is {str(index)[:40]}")
        if index > len(data) + FRAME_SLACK:
            raise KineticsFileError("bad frame index", f"data[{k}].frame_index {str(index)[:40]} in a file of "
                                    f"{len(data)} frames")
        frame_index.append(index)
        people = frame.get("skeleton", [])
        if not isinstance(people, list):
            raise KineticsFileError("not a skeleton file", f"data[{k}].skeleton is not a list")
        for person in people:
            if not isinstance(person, dict) or "pose" not in person or "score" not in person:
                raise KineticsFileError("not a skeleton file", f"data[{k}] has a person without pose/score")
            poses.append(person["pose"])
            scores.append(person["score"])
            owner.append(index)
    return frame_index, poses, scores, owner


def _matrix(rows: list, width: int, what: str) -> np.ndarray:
    try:
        arr = np.array(rows, dtype=np.float64)
    except OverflowError:
        raise KineticsFileError("NaN", f"a {what} value too large for a float") from None
    except (ValueError, TypeError):
        lengths = {len(r) if isinstance(r, list) else -1 for r in rows}
        raise KineticsFileError("wrong joint count", f"{what} lists of lengths {sorted(lengths)}, expected {width}") from None
    if arr.ndim != 2 or arr.shape[1] != width:
        raise KineticsFileError("wrong joint count", f"{what} of length {arr.shape[-1] if arr.ndim == 2 else '?'}, "
                                f"expected {width}")
    return arr


def parse_kinetics(raw: bytes, *, persons: int, frame_base: int | None = None) -> KineticsFile:
    """Parse one JSON file; raise :class:`KineticsFileError` with a reason for a bad one."""
    if not raw.strip():
        raise KineticsFileError("empty", "0 bytes" if not raw else "only whitespace")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KineticsFileError("not a skeleton file", f"not JSON ({str(exc).splitlines()[0][:80]})") from None
    except RecursionError:
        raise KineticsFileError("not a skeleton file", "JSON nested too deep") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise KineticsFileError("not a skeleton file", "no 'data' list at the top level")
    label_index = obj.get("label_index")
    label_index = label_index if isinstance(label_index, int) and not isinstance(label_index, bool) else None
    frame_index, poses, scores, owner = _entries(obj["data"])
    if not frame_index:
        raise KineticsFileError("empty", '"data": [] (no frames)')
    if not poses:
        raise KineticsFileError("empty", f"no person in any of {len(frame_index)} frames")
    base = frame_base if frame_base is not None else (0 if min(frame_index) == 0 else 1)
    if min(frame_index) < base:
        raise KineticsFileError("not a skeleton file", f"frame_index {min(frame_index)} below the base {base}")
    pose = _matrix(poses, 2 * JOINTS, "pose")
    score = _matrix(scores, JOINTS, "score")
    if not (np.isfinite(pose).all() and np.isfinite(score).all()):
        raise KineticsFileError("NaN", "non-finite pose or score values")
    if max(np.abs(pose).max(), np.abs(score).max()) > FLOAT32_MAX:
        raise KineticsFileError("NaN", "pose or score values beyond float32 (they would become inf)")
    if not score.any():
        raise KineticsFileError("empty", "every joint score is 0")
    frame_of = np.asarray(owner, dtype=np.int64) - base
    num_frames = max(frame_index) - base + 1
    total = score.sum(axis=1)
    order = np.lexsort((-total, frame_of))  # by frame, then best score first; stable on ties
    sorted_frames = frame_of[order]
    first = np.r_[0, np.flatnonzero(np.diff(sorted_frames)) + 1]
    counts = np.diff(np.r_[first, len(order)])
    rank = np.arange(len(order)) - np.repeat(first, counts)
    keep = rank < persons
    rows, slots = sorted_frames[keep], rank[keep]
    chosen = order[keep]
    frames = np.zeros((num_frames, persons, JOINTS, 3), np.float32)
    frames[rows, slots, :, 0] = pose[chosen, 0::2]
    frames[rows, slots, :, 1] = pose[chosen, 1::2]
    frames[rows, slots, :, 2] = score[chosen]
    return KineticsFile(frames, label_index, base, int(counts.max()))
