"""Building blocks of parametric motion: performance style, the channel builder, time windows.

A primitive is a pure function ``(frames, style, rng, variant=None) -> Motion``; it builds
its channels with a :class:`Pose`, which starts every channel at its neutral value and
blends targets in with time windows (:func:`window`, :func:`cycles`).  A :class:`Style`
carries what differs between performers and performances: amplitude (how far limbs go),
speed (how fast repetitions come), the dominant side, a habitual trunk lean and a
"sloppiness" that perturbs every pose target a little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kinematics import CHANNELS

__all__ = ["Motion", "Pose", "Style", "cycles", "deg", "low_pass", "pick", "smooth", "window"]

deg = np.pi / 180.0


@dataclass(frozen=True)
class Style:
    """How one performance is done.  ``side`` is the dominant side, ``"l"`` or ``"r"``."""

    amp: float = 1.0
    speed: float = 1.0
    side: str = "r"
    lean: float = 0.0  # habitual trunk bend, radians
    fps: float = 20.0
    sloppiness: float = 0.0  # sd (degrees) of a random offset on every pose target
    seed: int = 0  # seeds the sloppiness offsets

    @property
    def other(self) -> str:
        return "l" if self.side == "r" else "r"


@dataclass
class Motion:
    """Channels of one segment and the variant that was performed (used by captions)."""

    channels: dict[str, np.ndarray]
    variant: str = ""


def smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep of ``x`` clipped to [0, 1]: zero slope at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def window(u: np.ndarray, a0: float, a1: float, b0: float, b1: float) -> np.ndarray:
    """0 before ``a0``, rising to 1 at ``a1``, holding, falling from ``b0`` to 0 at ``b1``."""
    rise = smooth((u - a0) / max(a1 - a0, 1e-6))
    fall = 1.0 - smooth((u - b0) / max(b1 - b0, 1e-6))
    return rise * fall


def cycles(t: np.ndarray, freq: float, n_min: int = 1) -> tuple[np.ndarray, int]:
    """Phase (radians) of an oscillation of about ``freq`` Hz fitted to a whole number of cycles."""
    duration = max(float(t[-1] - t[0]), 1e-6)
    n = max(n_min, int(round(duration * freq)))
    return 2.0 * np.pi * n * (t - t[0]) / duration, n


class Pose:
    """Channel builder for one segment: neutral values, then targets blended in by weights."""

    def __init__(self, frames: int, style: Style):
        self.T = frames
        self.style = style
        self._slop = np.random.default_rng(style.seed) if style.sloppiness > 0 else None
        self.u = np.linspace(0.0, 1.0, frames)
        self.t = np.arange(frames) / style.fps
        self.ch: dict[str, np.ndarray] = {}
        if style.lean:
            self.ch["spine_bend"] = np.full(frames, CHANNELS["spine_bend"] + style.lean)

    def get(self, name: str) -> np.ndarray:
        if name not in self.ch:
            self.ch[name] = np.full(self.T, CHANNELS.get(name, 0.0))
        return self.ch[name]

    def blend(self, name: str, target, weight) -> None:
        """Move channel ``name`` toward ``target`` (degrees for angles) by ``weight`` (0..1)."""
        cur = self.get(name)
        target = np.asarray(target, dtype=np.float64)
        if self._slop is not None and _is_angle(name):
            target = target + self._slop.normal(0.0, self.style.sloppiness)
        self.ch[name] = cur + (target * (deg if _is_angle(name) else 1.0) - cur) * weight

    def add(self, name: str, delta) -> None:
        self.ch[name] = self.get(name) + np.asarray(delta) * (deg if _is_angle(name) else 1.0)

    def arm(self, side: str, weight, *, elev, azim, twist=0.0, elbow=12.0) -> None:
        for key, value in (("arm_elev", elev), ("arm_azim", azim), ("arm_twist", twist), ("elbow", elbow)):
            self.blend(f"{side}_{key}", value, weight)

    def leg(self, side: str, weight, *, elev, azim=0.0, knee=3.0, ankle=0.0) -> None:
        for key, value in (("leg_elev", elev), ("leg_azim", azim), ("knee", knee), ("ankle", ankle)):
            self.blend(f"{side}_{key}", value, weight)

    def done(self, variant: str = "") -> Motion:
        """Finish the segment: every channel is low-passed (75 ms Gaussian) so that no
        joint outruns a human, however briefly a window asked for a change."""
        sigma = 0.075 * self.style.fps
        return Motion({k: low_pass(v, sigma) for k, v in self.ch.items()}, variant)


def low_pass(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing with edge padding (``sigma`` in frames)."""
    radius = int(np.ceil(3 * sigma))
    if radius < 1 or len(x) < 2:
        return x
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return np.convolve(np.pad(x, radius, mode="edge"), k / k.sum(), mode="valid")


def _is_angle(name: str) -> bool:
    return not (name in ("air", "fwd_speed", "side_speed") or name.endswith("anchor"))


def pick(rng: np.random.Generator, options, variant: str | None):
    return variant if variant is not None else options[int(rng.integers(len(options)))]
