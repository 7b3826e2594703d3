"""Parametric action primitives: functions of (frames, style, rng) -> pose channels.

Each primitive fills the channels of :mod:`.kinematics` for a segment of ``frames``
frames, starting and ending near the neutral stance (except ``sit_down``, which ends
seated, and ``stand_up``, which starts seated), so that segments can be chained with short
cross-fades.  A :class:`Style` carries what differs between performers and performances:
amplitude (how far limbs go), speed (how fast repetitions come), the dominant side and a
habitual trunk lean.  Every random choice inside a primitive comes from the ``rng`` it is
given, so a primitive is a pure function of its arguments.

The functions here are the vocabulary of the source corpus (:mod:`.source`); the target
set reuses some of them with a different style distribution and adds compositions of them
(:mod:`.compositions`) that have no primitive of the same name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .posing import Motion, Pose, Style, cycles, deg, pick, smooth, window
from .whole_body import (
    bow,
    hops,
    jump,
    kick,
    run_in_place,
    sit_down,
    squat,
    stand_up,
    turn,
    walk,
)

__all__ = ["PRIMITIVES", "Motion", "Pose", "Style", "cycles", "deg", "hops", "smooth", "window"]

# ------------------------------------------------------------------ upper body


def wave(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("high", "high", "low", "both"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, rng.uniform(0.12, 0.25), rng.uniform(0.75, 0.88), 1.0)
    ph, _ = cycles(p.t, 1.8 * st.speed * rng.uniform(0.85, 1.15), 1)
    swing = 32.0 * st.amp * np.sin(ph) * w
    elev = {"high": 125.0 + 20.0 * st.amp, "low": 80.0, "both": 120.0 + 20.0 * st.amp}[v]
    azim = {"high": 75.0, "low": 35.0, "both": 80.0}[v]
    for s in ((st.side, st.other) if v == "both" else (st.side,)):
        p.arm(s, w, elev=elev + rng.normal(0, 6), azim=azim + rng.normal(0, 8), twist=90.0, elbow=70.0 + swing)
    p.blend("neck_turn", (20.0 if st.side == "l" else -20.0) * (v != "both"), w * 0.5)
    return p.done(v)


def raise_hand(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    p = Pose(T, st)
    w = window(p.u, rng.uniform(0.05, 0.15), rng.uniform(0.3, 0.45), rng.uniform(0.65, 0.8), rng.uniform(0.9, 1.0))
    p.arm(st.side, w, elev=150.0 + 20.0 * min(st.amp, 1.0), azim=rng.uniform(20, 60), twist=30.0,
          elbow=rng.uniform(8, 35))
    return p.done("one")


def raise_arms(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("front", "side"), variant)
    p = Pose(T, st)
    w = window(p.u, rng.uniform(0.0, 0.1), rng.uniform(0.3, 0.45), rng.uniform(0.6, 0.8), 1.0)
    azim = 10.0 if v == "front" else 90.0
    for s in "lr":
        p.arm(s, w, elev=145.0 + 25.0 * min(st.amp, 1.0), azim=azim + rng.normal(0, 5), twist=0.0, elbow=10.0)
    p.blend("spine_bend", -6.0, w)
    return p.done(v)


def punch(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("single", "double", "alternate"), variant)
    p = Pose(T, st)
    guard = window(p.u, 0.0, 0.2, 0.8, 1.0)
    for s in "lr":
        p.arm(s, guard, elev=40.0, azim=15.0, twist=-60.0, elbow=120.0)
    n = {"single": 1, "double": 2, "alternate": 2 + int(rng.integers(2))}[v]
    centres = np.linspace(0.25, 0.75, n) if n > 1 else np.array([rng.uniform(0.4, 0.6)])
    width = min(0.16, 0.5 / n) / st.speed
    for k, c in enumerate(centres):
        s = st.side if (v != "alternate" or k % 2 == 0) else st.other
        hit = window(p.u, c - width, c - 0.25 * width, c, c + width)
        p.arm(s, hit, elev=85.0 + rng.normal(0, 4), azim=-10.0, twist=-80.0, elbow=5.0)
        sign = -1.0 if s == "l" else 1.0
        p.add("spine_twist", sign * 22.0 * st.amp * hit)
    p.blend("spine_bend", 8.0, guard)
    return p.done(v)


def clap(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("chest", "chest", "overhead"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, rng.uniform(0.12, 0.22), rng.uniform(0.8, 0.9), 1.0)
    n = max(2, int(round(0.7 * p.t[-1] * 2.4 * st.speed)))
    ph = np.interp(p.u, [0.0, 0.15, 0.85, 1.0], [0.0, 0.0, 2 * np.pi * n, 2 * np.pi * n])
    apart = 0.5 + 0.5 * np.cos(ph)  # 1: hands apart, 0: hands together
    apart = apart * (0.6 + 0.4 * min(st.amp, 1.2))
    for s in "lr":
        if v == "chest":
            p.arm(s, w, elev=50.0 - 10.0 * apart, azim=10.0 + 55.0 * apart, twist=-60.0 + 50.0 * apart,
                  elbow=70.0 + 20.0 * apart)
        else:
            p.arm(s, w, elev=155.0, azim=5.0 + 60.0 * apart, twist=-20.0, elbow=25.0 + 25.0 * apart)
    return p.done(v)


def stretch(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("side", "back"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, 0.3, 0.75, 1.0)
    for s in "lr":
        p.arm(s, w, elev=168.0, azim=20.0, twist=0.0, elbow=15.0)
    if v == "side":
        lean = np.sin(np.interp(p.u, [0.25, 0.8], [0.0, 2 * np.pi])) * window(p.u, 0.25, 0.35, 0.7, 0.8)
        p.add("spine_side", 22.0 * st.amp * lean)
    else:
        p.add("spine_bend", -15.0 * st.amp * window(p.u, 0.3, 0.45, 0.6, 0.8))
    return p.done(v)


def look_around(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    p = Pose(T, st)
    w = window(p.u, 0.0, 0.15, 0.85, 1.0)
    ph, _ = cycles(p.t, 0.6 * st.speed, 1)
    p.add("neck_turn", 55.0 * np.sin(ph) * w)
    p.add("spine_twist", 15.0 * np.sin(ph) * w)
    return p.done()


PrimitiveFn = Callable[..., Motion]

#: The source vocabulary: name -> generator.  ``stand_up`` only ever follows ``sit_down``.
PRIMITIVES: dict[str, PrimitiveFn] = {
    "wave": wave,
    "raise_hand": raise_hand,
    "raise_arms": raise_arms,
    "punch": punch,
    "clap": clap,
    "stretch": stretch,
    "look_around": look_around,
    "bow": bow,
    "squat": squat,
    "sit_down": sit_down,
    "stand_up": stand_up,
    "jump": jump,
    "kick": kick,
    "run_in_place": run_in_place,
    "walk": walk,
    "turn": turn,
}
