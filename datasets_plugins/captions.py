"""Caption files in HumanML3D's format: one ``caption#tokens#start#end`` line per caption.

``start = end = 0`` means the caption covers the whole clip; otherwise it covers a time
window in seconds.  Two ways to turn seconds into frames, and why both exist:

- :func:`reference_frame` is ``int(seconds * fps)``, what the HumanML3D reference loader
  does; the ``humanml3d`` adapter uses it so the windows match every published result
  (``2.9 s * 20`` is ``57.999...`` and becomes frame 57 there).
- :func:`exact_frame` is ``floor(seconds * fps + 1e-6)``: the frame a time names, robust to
  the float error of ``frame / fps * fps``.  The ``custom`` adapter and kinemic's npy export
  use it, so exported captions read back to the same frames.

NaN tags (present in the release) count as 0, as in the reference loader.  The end is
clipped to the clip; a caption whose window is then empty is dropped with a note.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from kinemic_cli.clip import Caption

__all__ = ["reference_frame", "exact_frame", "parse_caption_lines"]


def reference_frame(seconds: float, fps: float) -> int:
    return int(seconds * fps)


def exact_frame(seconds: float, fps: float) -> int:
    return math.floor(seconds * fps + 1e-6)


#: a time tag past this (about 11 days) is not a time in a motion clip (1e999 would overflow frames)
MAX_SECONDS = 1e6


def _tag(text: str) -> float | None:
    """A time tag in seconds; 0.0 when absent or not a number (a whole-clip caption), None when absurd."""
    try:
        value = float(text)
    except ValueError:
        return 0.0
    if math.isnan(value):
        return 0.0
    return value if -MAX_SECONDS <= value <= MAX_SECONDS else None


def parse_caption_lines(text: str, *, length: int, fps: float,
                        frame: Callable[[float, float], int] = reference_frame) -> tuple[list[Caption], list[str]]:
    """Caption lines -> captions of a ``length``-frame clip, and one note per dropped line."""
    captions, notes = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split("#")
        caption = parts[0].strip()
        if not caption:
            notes.append(f"line {number}: no caption text")
            continue
        start, end = (_tag(parts[2]), _tag(parts[3])) if len(parts) >= 4 else (0.0, 0.0)
        if start is None or end is None:
            notes.append(f"line {number}: time tags {parts[2][:20]!r}-{parts[3][:20]!r} out of range")
            continue
        if "\0" in caption:
            notes.append(f"line {number}: a NUL byte in the caption")
            continue
        if start == 0.0 and end == 0.0:
            captions.append(Caption(caption))
            continue
        first, stop = frame(start, fps), min(frame(end, fps), length)
        if first >= stop:
            notes.append(f"line {number}: window {start:g}s-{end:g}s is empty in a {length}-frame clip")
            continue
        captions.append(Caption(caption, first, stop))
    return captions, notes
