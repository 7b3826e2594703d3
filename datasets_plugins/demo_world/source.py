"""The ``demo-t2m`` source corpus: long captioned clips chaining 2-4 primitives.

It plays the part HumanML3D plays for the real method: a text-to-motion prior is trained
on it and soft positives are mined from it by caption similarity.  Clips are 40-199 frames
at 20 fps, start at the origin facing +Z (HumanML3D's canonical frame) and are clean: no
camera, no tracking noise, performers drawn from a narrow distribution of proportions and
a moderate style (amplitude and speed around 1.0).  See :mod:`.target` for how the target
set differs.

Segments are generated one by one and cross-faded over a few frames at each boundary
(pose channels are blended, velocity channels blended and then integrated), so a chain
moves smoothly from one primitive to the next.  ``sit_down`` is always followed by
``stand_up`` unless it ends the clip.  Each clip carries three whole-clip paraphrases,
one partial caption per segment with its frame span, and its segment structure as the
per-clip string ``segments`` (``"wave:0:40;kick:40:95"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .captions import segment_phrase, whole_captions
from .kinematics import forward_kinematics, rest_channels, sample_body
from .primitives import PRIMITIVES, Style

__all__ = ["MAX_FRAMES", "MIN_FRAMES", "VOCABULARY", "SourceSpec", "parse_segments", "source_clip"]

FPS = 20.0
MIN_FRAMES, MAX_FRAMES = 40, 199
VOCABULARY: tuple[str, ...] = tuple(PRIMITIVES)
_CHOOSABLE = tuple(n for n in VOCABULARY if n != "stand_up")
_FADE = 4  # frames blended on each side of a segment boundary
_KIND_CLIP = 201


@dataclass(frozen=True)
class SourceSpec:
    seed: int = 0
    clips: int = 3000


def _plan(rng: np.random.Generator) -> list[str]:
    n = int(rng.integers(2, 5))
    names: list[str] = []
    while len(names) < n:
        if names and names[-1] == "sit_down":
            names.append("stand_up")
            continue
        name = _CHOOSABLE[int(rng.integers(len(_CHOOSABLE)))]
        if names and name == names[-1]:
            continue
        names.append(name)
    return names


def _durations(rng: np.random.Generator, n: int, speed: float) -> list[int]:
    secs = rng.uniform(1.3, 3.5, size=n) / speed
    frames = secs * FPS
    total = frames.sum()
    target = float(np.clip(total, MIN_FRAMES, MAX_FRAMES))
    frames = frames * target / total
    out = np.maximum(np.floor(frames).astype(int), 12)
    while out.sum() > MAX_FRAMES:
        out[int(np.argmax(out))] -= 1
    while out.sum() < MIN_FRAMES:
        out[int(np.argmin(out))] += 1
    return out.tolist()


def _chain(parts: list[dict[str, np.ndarray]], lengths: list[int]) -> dict[str, np.ndarray]:
    """Cross-fade segment channels into one timeline (weights form a partition of unity)."""
    T = int(sum(lengths))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    names = set(rest_channels(1))
    acc = {k: np.zeros(T) for k in names}
    wsum = np.zeros(T)
    t = np.arange(T)
    rest = rest_channels(1)
    for ch, s, n in zip(parts, starts, lengths):
        e = s + n
        rise = np.clip((t - (s - _FADE)) / (2 * _FADE), 0, 1) if s > 0 else np.ones(T)
        fall = np.clip(((e + _FADE) - t) / (2 * _FADE), 0, 1) if e < T else np.ones(T)
        w = rise * fall
        w = w * w * (3 - 2 * w)
        idx = np.clip(t - s, 0, n - 1)  # beyond its own span a segment holds its edge values
        for k in names:
            values = ch[k] if k in ch else np.full(n, rest[k][0])
            acc[k] += w * values[idx]
        wsum += w
    return {k: v / wsum for k, v in acc.items()}


def source_clip(spec: SourceSpec, index: int) -> dict:
    """Clip ``index`` as a dict: frames, captions, partial captions, segments, split."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, _KIND_CLIP, index]))
    u = rng.random()
    split = "train" if u < 0.8 else ("val" if u < 0.9 else "test")
    body = sample_body(rng, spread=0.7)
    amp = float(np.exp(rng.normal(0.0, 0.08)))
    speed = float(np.exp(rng.normal(0.0, 0.08)))
    preferred = "r" if rng.random() < 0.7 else "l"
    names = _plan(rng)
    lengths = _durations(rng, len(names), speed)
    parts, described = [], []
    for name, n in zip(names, lengths):
        side = preferred if rng.random() < 0.8 else ("l" if preferred == "r" else "r")
        style = Style(amp=amp * float(np.exp(rng.normal(0, 0.05))), speed=speed, side=side, fps=FPS)
        motion = PRIMITIVES[name](n, style, rng)
        parts.append(motion.channels)
        described.append((name, motion.variant, "left" if side == "l" else "right"))
    channels = _chain(parts, lengths)
    joints = forward_kinematics(body, channels, fps=FPS, yaw0=0.0)
    starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    partial = [
        (f"{_cap(rng, d)}", int(starts[i]), int(starts[i + 1])) for i, d in enumerate(described)
    ]
    return {
        "frames": joints.astype(np.float32),
        "captions": whole_captions(rng, described, 3),
        "partial": partial,
        "segments": ";".join(f"{d[0]}:{starts[i]}:{starts[i + 1]}" for i, d in enumerate(described)),
        "split": split,
    }


def _cap(rng: np.random.Generator, segment: tuple[str, str, str]) -> str:
    subject = ("a person", "someone", "the person")[int(rng.integers(3))]
    text = f"{subject} {segment_phrase(rng, *segment)}"
    return text[0].upper() + text[1:] + "."


def parse_segments(text: str) -> list[tuple[str, int, int]]:
    """``"wave:0:40;kick:40:95"`` -> ``[("wave", 0, 40), ("kick", 40, 95)]``."""
    out = []
    for part in text.split(";"):
        name, start, end = part.rsplit(":", 2)
        out.append((name, int(start), int(end)))
    return out


