"""Target-only actions: built from the same building blocks, absent from the source vocabulary.

These are the classes a few-shot generator cannot simply look up in the source corpus: no
source primitive carries their name, and their captions never use their words.  Each one
is close in meaning or composed of source primitives (see ``SOURCE_MAPPING`` in
:mod:`.target`): a salute lifts the hand like ``raise_hand`` but to the forehead and
holds; an overhand throw winds up like a high ``raise_hand`` and extends like a ``punch``;
jumping jacks and cheering mix ``jump`` hops with ``raise_arms``; picking something up
bends like ``bow`` while the knees bend like ``squat``.
"""

from __future__ import annotations

import numpy as np

from .posing import Motion, Pose, Style, cycles, smooth, window
from .whole_body import hops

__all__ = ["cheer_up", "jumping_jacks", "pick_up", "salute", "throw"]


def _pick(rng: np.random.Generator, options, variant: str | None):
    return variant if variant is not None else options[int(rng.integers(len(options)))]


def salute(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = _pick(rng, ("crisp", "casual"), variant)
    p = Pose(T, st)
    up = rng.uniform(0.08, 0.2)
    hold_end = rng.uniform(0.6, 0.8)
    w = window(p.u, up - 0.08, up + (0.08 if v == "crisp" else 0.16), hold_end, min(1.0, hold_end + 0.2))
    if v == "crisp":
        p.arm(st.side, w, elev=115.0, azim=30.0, twist=-15.0, elbow=125.0)
    else:
        p.arm(st.side, w, elev=100.0 + rng.normal(0, 5), azim=45.0, twist=-5.0, elbow=115.0)
    p.blend("neck_nod", -6.0, w)
    p.blend("spine_bend", -3.0, w)
    return p.done(v)


def throw(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = _pick(rng, ("overhand", "overhand", "underhand"), variant)
    p = Pose(T, st)
    d, o = st.side, st.other
    c = rng.uniform(0.4, 0.55)  # release time
    wind = window(p.u, c - 0.35, c - 0.12, c - 0.08, c)
    release = window(p.u, c - 0.08, c, c + 0.05, c + 0.3)
    turn = 1.0 if d == "l" else -1.0  # positive twist turns the chest to the left
    if v == "overhand":
        p.arm(d, wind, elev=150.0, azim=120.0, twist=60.0, elbow=100.0)
        p.arm(d, release, elev=75.0 * st.amp + 10.0, azim=-15.0, twist=-60.0, elbow=10.0)
        p.blend("spine_bend", -10.0, wind)
    else:
        p.arm(d, wind, elev=-45.0, azim=10.0, elbow=20.0)
        p.arm(d, release, elev=80.0 * st.amp, azim=0.0, elbow=15.0)
        p.blend("spine_bend", 15.0, wind)
    p.add("spine_twist", turn * 25.0 * st.amp * (wind - release))
    p.add("spine_bend", 18.0 * release)
    p.leg(o, release, elev=25.0, azim=0.0, knee=20.0)
    p.blend(f"{o}_anchor", 0.0, smooth(release * 2))
    p.arm(o, wind, elev=60.0, azim=20.0, elbow=30.0)
    return p.done(v)


def jumping_jacks(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = _pick(rng, ("full", "full", "half"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, 0.1, 0.9, 1.0)
    ph, _ = cycles(p.t, 1.3 * st.speed * rng.uniform(0.85, 1.15), 1)
    opened = (0.5 - 0.5 * np.cos(ph)) * w
    arm_top = (160.0 if v == "full" else 95.0) * min(1.1, 0.75 + 0.25 * st.amp)
    for s in "lr":
        p.arm(s, opened, elev=arm_top, azim=90.0, twist=0.0, elbow=15.0)
        p.blend(f"{s}_leg_elev", 18.0, opened)
        p.blend(f"{s}_leg_azim", 90.0, w)
        p.blend(f"{s}_ankle", 25.0, np.abs(np.sin(ph)) * w)
        p.blend(f"{s}_knee", 15.0, w)
    height = rng.uniform(0.04, 0.1) * st.amp
    p.add("air", height * np.abs(np.sin(ph)) * w)
    return p.done(v)


def cheer_up(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = _pick(rng, ("pump", "hop", "sway", "one_arm"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, rng.uniform(0.12, 0.25), rng.uniform(0.75, 0.9), 1.0)
    ph, _ = cycles(p.t, 2.0 * st.speed * rng.uniform(0.8, 1.2), 1)
    pump = np.sin(ph) * w
    for s in ((st.side,) if v == "one_arm" else "lr"):
        p.arm(s, w, elev=150.0 + 12.0 * pump, azim=rng.uniform(40, 70), twist=20.0, elbow=30.0 - 20.0 * pump)
    if v == "hop":
        period = 1.0 / (1.6 * st.speed)
        times = np.arange(0.3, p.t[-1] - 0.45, period)
        if len(times):
            hops(p, times, rng.uniform(0.05, 0.12) * st.amp, crouch=0.4, arms=False)
    elif v == "sway":
        p.add("spine_side", 12.0 * np.sin(ph / 2.0) * w)
    p.blend("neck_nod", -10.0, w)
    p.blend("spine_bend", -6.0, w)
    return p.done(v)


def pick_up(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = _pick(rng, ("stoop", "crouch"), variant)
    both = rng.random() < 0.35  # a box: both hands
    p = Pose(T, st)
    down = window(p.u, rng.uniform(0.05, 0.15), rng.uniform(0.35, 0.45), rng.uniform(0.5, 0.6), rng.uniform(0.8, 0.9))
    up_after = smooth((p.u - 0.55) / 0.3)
    bend = (70.0 if v == "stoop" else 45.0) * min(1.15, 0.8 + 0.2 * st.amp)
    knee = 35.0 if v == "stoop" else 105.0
    for s in "lr":
        p.leg(s, down, elev=knee * (0.6 if v == "stoop" else 0.85), azim=12.0, knee=knee)
    p.blend("spine_bend", bend, down)
    p.blend("neck_nod", 15.0, down)
    # the reaching hand goes toward the floor in front of the feet, then comes back up
    # holding the object at the waist
    p.arm(st.side, down, elev=bend + 20.0, azim=0.0, elbow=8.0)
    p.arm(st.side, up_after * (1.0 - down), elev=45.0, azim=15.0, twist=-40.0, elbow=80.0)
    if both:
        p.arm(st.other, down, elev=bend + 20.0, azim=0.0, elbow=8.0)
        p.arm(st.other, up_after * (1.0 - down), elev=45.0, azim=15.0, twist=-40.0, elbow=80.0)
    else:
        p.arm(st.other, down, elev=bend - 10.0, azim=40.0, elbow=25.0)
    return p.done(v + ("-both" if both else ""))
