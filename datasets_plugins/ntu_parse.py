"""Reading one NTU RGB+D ``.skeleton`` file: token bounds and conversions in numpy, one pass.

Layout (FORMATS.md): frame count; per frame a body count; per body a 10-field info line
(the first field, the body id, is a 17-digit integer), a ``25`` line and 25 joint lines of
12 fields (x y z depthX depthY colorX colorY orientation-wxyz trackingState).

Two readers, one result:

- **The array reader** (every well-formed file): the token boundaries come from one
  comparison of the file's bytes against whitespace; only the frame and body counts are
  looked at in Python (~100-200 steps a file) to find where each body block starts; the
  offsets of every x, y, z and tracking-state token follow from those starts
  (``start + 11 + 12 * joint + field``; when every frame shows the same number of bodies,
  all count positions are known in advance and checked at once), and the coordinates are
  converted by :func:`datasets_plugins.decimal_tokens.plain_decimals`, bit-identical to
  ``float()``.
  No Python object is made per token: 0.65 ms against 1.7 ms a 350 kB file for the token
  reader (with :mod:`datasets_plugins._heap`'s setting, which ``prepare`` applies).
- **The token reader** (the reference): ``bytes.split`` of the whole file and ``float()`` of
  the gathered coordinates.  Whenever the array reader meets anything it does not prove
  well-formed (a stray control byte, a token that is not a plain decimal and that ``float()``
  refuses, any structural doubt) it hands the file to the token reader, whose checks give
  the reason.  So both give the same values and the same reports; the tests compare them
  on thousands of mutated files.

Body ids are read with ``int()``: a 17-digit id does not survive a float64.  Structure is
checked as it is walked, so a broken file gives a reason, never a crash: ``empty``,
``truncated``, ``wrong joint count`` (the 26-joint impostors), ``NaN``, ``not a skeleton
file`` (text where a count belongs, values out of place, trailing data).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .decimal_tokens import byte_words, plain_decimals

FLOAT32_MAX = float(np.finfo(np.float32).max)

__all__ = ["SkeletonFileError", "SkeletonFile", "parse_skeleton", "body_activity", "select_bodies"]

JOINTS = 25
INFO_FIELDS = 10
JOINT_FIELDS = 12
BODY_TOKENS = INFO_FIELDS + 1 + JOINTS * JOINT_FIELDS  # 311
MAX_BODIES = 16  # Kinect v2 tracks 6; a larger count means the text is not a body count
_JOINT_BASE = INFO_FIELDS + 1 + JOINT_FIELDS * np.arange(JOINTS)
XYZ_OFFSETS = (_JOINT_BASE[:, None] + np.arange(3)).ravel()  # [75], within a body block
STATE_OFFSETS = _JOINT_BASE + JOINT_FIELDS - 1  # [25]
_STATES = frozenset({b"0", b"1", b"2"})


class SkeletonFileError(Exception):
    """A file that cannot be read as a skeleton file: a short ``reason`` and a ``detail``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class SkeletonFile:
    """Every body of one file, tracked by id: ``tracks[k, t]`` is body ``body_ids[k]`` at frame ``t``."""

    num_frames: int
    body_ids: list[int]  # distinct ids, in order of first appearance
    tracks: np.ndarray  # [bodies, T, 25, 3] float32, zero where the body is absent
    present: np.ndarray  # [bodies, T] bool
    empty_frames: int  # frames with no body at all


def _count(token_at: Callable[[int], bytes], i: int, what: str) -> int:
    token = token_at(i)
    if not token.isdigit():
        raise SkeletonFileError("not a skeleton file", f"{what} is {token[:20]!r}, not a count")
    return int(token)


def _block_starts(n: int, token_at: Callable[[int], bytes]) -> tuple[int, list[int], list[int]]:
    """Walk the counts of ``n`` tokens (``token_at(i)`` is token ``i``): frame count, and the
    token index and frame of every body block.  Both readers walk with it."""
    num_frames = _count(token_at, 0, "the frame count")
    if num_frames == 0:
        raise SkeletonFileError("empty", "0 frames")
    starts: list[int] = []
    frames: list[int] = []
    pos = 1
    for t in range(num_frames):
        if pos >= n:
            raise SkeletonFileError("truncated", f"ends before frame {t + 1} of {num_frames}")
        bodies = _count(token_at, pos, f"the body count of frame {t + 1}")
        if bodies > MAX_BODIES:
            raise SkeletonFileError("not a skeleton file", f"frame {t + 1} claims {bodies} bodies")
        pos += 1
        for _ in range(bodies):
            if pos + INFO_FIELDS >= n:
                raise SkeletonFileError("truncated", f"ends inside frame {t + 1} of {num_frames}")
            joints = _count(token_at, pos + INFO_FIELDS, f"the joint count of frame {t + 1}")
            if joints != JOINTS:
                raise SkeletonFileError("wrong joint count", f"{joints} joints in frame {t + 1}, expected {JOINTS}")
            starts.append(pos)
            frames.append(t)
            pos += BODY_TOKENS
            if pos > n:
                raise SkeletonFileError("truncated", f"ends inside frame {t + 1} of {num_frames}")
    if pos != n:
        raise SkeletonFileError("not a skeleton file", f"{n - pos} values after the last of {num_frames} frames")
    return num_frames, starts, frames


def _gather(tokens: list[bytes], indices: np.ndarray) -> tuple:
    flat = indices.ravel().tolist()
    got = operator.itemgetter(*flat)(tokens)
    return got if len(flat) > 1 else (got,)


def parse_skeleton(raw: bytes) -> SkeletonFile:
    """Parse the bytes of one ``.skeleton`` file (CRLF or LF); raise :class:`SkeletonFileError`."""
    try:
        return _parse_arrays(raw)
    except _NotProven:
        return _parse_tokens(raw)


class _NotProven(Exception):
    """The array reader cannot vouch for this file; the token reader decides (and explains)."""


def _parse_arrays(raw: bytes) -> SkeletonFile:
    """The fast reader: same result as :func:`_parse_tokens`, or :class:`_NotProven`."""
    data, starts, ends = _token_bounds(raw)

    def token_at(i: int) -> bytes:
        return raw[starts.item(i):ends.item(i)]

    try:
        num_frames, block_starts, frame_of = (_uniform_blocks(data, starts, ends, token_at)
                                              or _walked_blocks(len(starts), token_at))
    except SkeletonFileError:  # the token reader says why
        raise _NotProven from None
    state = (block_starts[:, None] + STATE_OFFSETS).ravel()
    if not ((ends[state] - starts[state] == 1).all() and ((data[starts[state]] - np.uint8(48)) < 3).all()):
        raise _NotProven
    coord = (block_starts[:, None] + XYZ_OFFSETS).ravel()
    coord_ends = ends[coord]
    xyz, plain = plain_decimals(data, coord_ends, coord_ends - starts[coord])
    if not plain.all():  # exponents and other forms float() reads; plain values are finite and small
        for k in np.flatnonzero(~plain).tolist():
            try:
                xyz[k] = float(raw[starts.item(coord[k]):ends.item(coord[k])])
            except ValueError:
                raise _NotProven from None
        if not np.isfinite(xyz).all() or np.abs(xyz).max() > FLOAT32_MAX:
            raise _NotProven
    order, track_of = _body_tracks(data, starts[block_starts], ends[block_starts], raw)
    if not all(body_id.isdigit() for body_id in order):
        raise _NotProven
    body_ids = [int(body_id) for body_id in order]
    if len(set(body_ids)) != len(body_ids):  # "07" and "7": one body to the token reader
        raise _NotProven
    return _assemble(num_frames, body_ids, track_of, frame_of, xyz.reshape(len(block_starts), JOINTS, 3))


def _body_tracks(data: np.ndarray, id_starts: np.ndarray, id_ends: np.ndarray, raw: bytes) -> tuple[list[bytes], np.ndarray]:
    """The distinct body-id tokens in order of appearance, and which of them each block is."""
    lengths = id_ends - id_starts
    if lengths.min() == lengths.max() <= 24 and id_starts.max() + 24 <= len(data):
        # Most files show one body all along: all its ids compared at once, as three words each.
        words = byte_words(data)
        keep = np.frombuffer(b"\xff" * int(lengths[0]) + bytes(24 - int(lengths[0])), "<u8")
        if all(np.all((words[id_starts + 8 * i] & keep[i]) == (words[id_starts.item(0) + 8 * i] & keep[i]))
               for i in range(3)):
            return [raw[id_starts.item(0):id_ends.item(0)]], np.zeros(len(id_starts), np.int64)
    order: dict[bytes, int] = {}
    tokens = [raw[a:b] for a, b in zip(id_starts.tolist(), id_ends.tolist())]
    track_of = np.array([order.setdefault(token, len(order)) for token in tokens], dtype=np.int64)
    return list(order), track_of


def _token_bounds(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The file as uint8, and where each whitespace-separated token starts and ends."""
    data = np.frombuffer(raw, np.uint8)
    if not raw or data.max() >= 0x80 or data.min() < 9 or ((data - np.uint8(14)) < 18).any():
        raise _NotProven  # empty, non-ASCII, or a control byte (not 9-13) that bytes.split() keeps
    solid = np.zeros(len(data) + 2, bool)
    solid[1:-1] = data > 32
    edges = np.flatnonzero(solid[1:] != solid[:-1])
    return data, edges[0::2], edges[1::2]


def _uniform_blocks(data, starts, ends, token_at) -> tuple[int, np.ndarray, np.ndarray] | None:
    """Most files show the same number of bodies (1-9) in every frame: then every count's place
    is known in advance and all are checked at once.  ``None`` for any other file."""
    n = len(starts)
    if n < 2 or ends.item(1) - starts.item(1) != 1:
        return None
    num_frames, bodies = _count(token_at, 0, "the frame count"), int(data[starts.item(1)]) - 48
    stride = 1 + bodies * BODY_TOKENS
    if not 1 <= bodies <= 9 or num_frames == 0 or n != 1 + num_frames * stride:
        return None
    counts = 1 + stride * np.arange(num_frames)
    if not ((ends[counts] - starts[counts] == 1).all() and (data[starts[counts]] == 48 + bodies).all()):
        return None
    block_starts = (counts[:, None] + 1 + BODY_TOKENS * np.arange(bodies)).ravel()
    joints = starts[block_starts + INFO_FIELDS]
    if not ((ends[block_starts + INFO_FIELDS] - joints == 2).all() and (data[joints] == 50).all()
            and (data[joints + 1] == 53).all()):  # "25"
        return None
    return num_frames, block_starts, np.repeat(np.arange(num_frames), bodies)


def _walked_blocks(n: int, token_at: Callable[[int], bytes]) -> tuple[int, np.ndarray, np.ndarray]:
    """Any other file: the shared frame-by-frame walk, as arrays; a file without a body is not proven."""
    num_frames, blocks, frames = _block_starts(n, token_at)
    if not blocks:
        raise _NotProven
    return num_frames, np.asarray(blocks, dtype=np.int64), np.asarray(frames, dtype=np.int64)


def _assemble(num_frames: int, body_ids: list[int], track_of: np.ndarray, frame_of: np.ndarray,
              xyz: np.ndarray) -> SkeletonFile:
    tracks = np.zeros((len(body_ids), num_frames, JOINTS, 3), np.float32)
    present = np.zeros((len(body_ids), num_frames), bool)
    tracks[track_of, frame_of] = xyz
    present[track_of, frame_of] = True
    return SkeletonFile(num_frames, body_ids, tracks, present, num_frames - int(np.count_nonzero(present.any(axis=0))))


def _parse_tokens(raw: bytes) -> SkeletonFile:
    """The reference reader: split into tokens, convert the gathered coordinates with ``float()``."""
    tokens = raw.split()
    if not tokens:
        raise SkeletonFileError("empty", "0 bytes" if not raw else "only whitespace")
    num_frames, starts, frames = _block_starts(len(tokens), tokens.__getitem__)
    if not starts:
        raise SkeletonFileError("empty", f"no body in any of {num_frames} frames")
    starts_arr = np.asarray(starts, dtype=np.int64)
    if not _STATES.issuperset(_gather(tokens, starts_arr[:, None] + STATE_OFFSETS)):
        raise SkeletonFileError("not a skeleton file", "joint tracking states are not 0/1/2 (values out of place)")
    text = _gather(tokens, starts_arr[:, None] + XYZ_OFFSETS)
    try:
        xyz = np.fromiter(map(float, text), dtype=np.float64, count=len(text))
    except ValueError:
        bad = next(t for t in text if not _is_float(t))
        raise SkeletonFileError("not a skeleton file", f"joint coordinate {bad[:20]!r} is not a number") from None
    xyz = xyz.reshape(len(starts), JOINTS, 3)
    finite = np.isfinite(xyz).all(axis=(1, 2))
    if not finite.all():
        k = int(np.argmin(finite))
        raise SkeletonFileError("NaN", f"non-finite joint coordinates in frame {frames[k] + 1}")
    if xyz.size and np.abs(xyz).max() > FLOAT32_MAX:  # finite here, inf once stored as float32
        k = int(np.argmax(np.abs(xyz).reshape(len(starts), -1).max(axis=1)))
        raise SkeletonFileError("NaN", f"joint coordinates beyond float32 in frame {frames[k] + 1}")
    ids = []
    for s in starts:
        if not tokens[s].isdigit():
            raise SkeletonFileError("not a skeleton file", f"body id {tokens[s][:20]!r} is not an integer")
        ids.append(int(tokens[s]))
    order: dict[int, int] = {}
    track_of = np.array([order.setdefault(b, len(order)) for b in ids], dtype=np.int64)
    return _assemble(num_frames, list(order), track_of, np.asarray(frames, dtype=np.int64), xyz)


def _is_float(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def body_activity(tracks: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Motion of each body: the summed variance of its coordinates over the frames it is seen.

    A body seen on one frame, or standing still, scores 0; the person acting scores most.
    """
    weight = present[:, :, None, None].astype(np.float64)
    seen = np.maximum(weight.sum(axis=1), 1.0)  # [K, 1, 1]
    x = tracks.astype(np.float64)
    mean = (x * weight).sum(axis=1) / seen
    var = (((x - mean[:, None]) ** 2) * weight).sum(axis=1) / seen
    return var.sum(axis=(1, 2))


def select_bodies(parsed: SkeletonFile, persons: int) -> tuple[np.ndarray, list[int]]:
    """The ``persons`` most active bodies as ``[T, persons, 25, 3]`` (most active first) and their ids.

    Ties keep the order of first appearance; missing persons stay zero.
    """
    if len(parsed.body_ids) == 1:  # nothing to rank
        chosen = np.zeros(1, np.int64)
    else:
        chosen = np.argsort(-body_activity(parsed.tracks, parsed.present), kind="stable")[:persons]
    frames = np.zeros((parsed.num_frames, persons, JOINTS, 3), np.float32)
    frames[:, : len(chosen)] = parsed.tracks[chosen].transpose(1, 0, 2, 3)
    return frames, [parsed.body_ids[k] for k in chosen]
