"""What a clip must be to enter the store: checked at the door, for every writer, before it is buffered.

Adapters read messy files; the writer is where every clip passes, so this is where a bad
one is caught *alone* (``prepare`` then skips and reports it, the good clips are stored)
instead of failing a whole part or the final commit.  The checks follow what the store
does with each field:

- frames: float32 and finite (a coordinate of 1e39 is finite in float64 and ``inf`` in
  float32; missing joints are zeros in every supported release, so NaN is never data);
- sample id: a short printable name without NUL, path separators or ``..`` (it is carried
  into exports as a file name);
- label / subject / camera / setup / replication: stored as int32;
- captions: text without NUL bytes (HDF5 strings cannot hold them), frame tags in range;
- splits: valid split names; extra fields: names usable as HDF5 dataset names, scalar
  values; per-frame data: as long as the clip and finite.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..clip import Clip
from .names import check_split_name

__all__ = ["clip_problem", "INT32_RANGE"]

INT32_RANGE = (-(2 ** 31), 2 ** 31 - 1)
_SAMPLE_ID = re.compile(r"^[^\x00-\x1f\x7f\\\\]{1,255}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_RESERVED = {"sample_id", "label", "subject", "camera", "setup", "replication"}


def _sample_id_problem(sample_id: str) -> str | None:
    if not isinstance(sample_id, str) or not _SAMPLE_ID.match(sample_id):
        return f"bad sample id {str(sample_id)[:40]!r} (control characters, backslash, or empty/too long)"
    parts = sample_id.split("/")
    if sample_id.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return f"bad sample id {sample_id[:40]!r} (an absolute or escaping path)"
    return None


def clip_problem(clip: Clip, *, joints: int, channels: int, persons: int) -> str | None:
    """Why ``clip`` cannot be stored, or None when it can."""
    problem = _sample_id_problem(clip.sample_id)
    if problem:
        return problem
    frames = clip.frames
    if frames.shape[2:] != (joints, channels):
        return f"frames {frames.shape} do not match the skeleton ({joints} joints x {channels} channels)"
    if frames.shape[1] > persons:
        return f"{frames.shape[1]} persons, the collection holds {persons}"
    if clip.length == 0:
        return "no frames"
    if not np.isfinite(frames).all():
        return "non-finite coordinates (NaN or inf, e.g. a value beyond float32)"
    for field in ("label", "subject", "camera", "setup", "replication"):
        value = getattr(clip, field)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            return f"{field} {str(value)[:30]!r} is not an integer"
        if not INT32_RANGE[0] <= int(value) <= INT32_RANGE[1]:
            return f"{field} {value} out of range (32-bit integers)"
    for caption in clip.captions:
        if not isinstance(caption.text, str) or "\x00" in caption.text:
            return "a caption with a NUL byte (or not text)"
        end = clip.length if caption.end is None else caption.end
        if not (0 <= int(caption.start) <= int(end) <= clip.length):
            return f"caption frames {caption.start}-{caption.end} outside the clip's {clip.length}"
    for split in clip.splits:
        try:
            check_split_name(split)
        except Exception as exc:  # KinemicError: its message says what is wrong
            return str(exc)
    for key, value in clip.extra.items():
        if not _FIELD.match(str(key)) or key in _RESERVED:
            return f"per-clip field name {str(key)[:40]!r} (letters, digits, _; not a built-in field)"
        if isinstance(value, str):
            if "\x00" in value:
                return f"per-clip field {key!r} holds a NUL byte"
        elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            return f"per-clip field {key!r} is a {type(value).__name__}, not a number or text"
        elif isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
            return f"per-clip field {key!r} is {value}"
        elif isinstance(value, (int, np.integer)) and not -(2 ** 63) <= int(value) < 2 ** 63:
            return f"per-clip field {key!r} out of range (64-bit integers)"
    for name, data in clip.frame_data.items():
        if not _FIELD.match(str(name)):
            return f"per-frame data name {str(name)[:40]!r} (letters, digits, _)"
        data = np.asarray(data)
        if len(data) != clip.length:
            return f"per-frame data {name!r} has {len(data)} frames, the clip {clip.length}"
        if data.dtype.kind not in "biuf" or not np.isfinite(data.astype(np.float32)).all():
            return f"per-frame data {name!r} is not finite numbers (as float32)"
    return None
