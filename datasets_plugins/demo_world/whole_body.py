"""Whole-body primitives: bending, squatting, sitting, jumping, kicking, running, walking, turning.

Same contract as :mod:`.primitives` (which registers them in the source vocabulary);
legs are posed in the heading frame and feet are kept on the floor by
:func:`~.kinematics.forward_kinematics`, so these only say what the joints do.
"""

from __future__ import annotations

import numpy as np

from .posing import Motion, Pose, Style, cycles, deg, pick, smooth, window

__all__ = ["bow", "hands_on_hips", "hops", "jump", "kick", "run_in_place", "sit_down", "squat", "stand_up", "turn", "walk"]

# ------------------------------------------------------------------ whole body


def bow(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("arms_down", "hands_front", "hand_on_chest"), variant)
    p = Pose(T, st)
    w = window(p.u, rng.uniform(0.05, 0.15), rng.uniform(0.35, 0.45), rng.uniform(0.55, 0.65), rng.uniform(0.85, 1.0))
    bend = (35.0 + 30.0 * rng.random()) * st.amp
    p.blend("spine_bend", bend, w)
    p.blend("neck_nod", 20.0, w)
    for s in "lr":
        # arm elevation is measured from the chest: hanging straight down needs +bend
        if v == "arms_down" or (v == "hand_on_chest" and s != st.side):
            p.arm(s, w, elev=bend - 5.0, azim=0.0, elbow=10.0)
        elif v == "hand_on_chest":
            p.arm(s, window(p.u, 0.0, 0.2, 0.8, 1.0), elev=30.0, azim=-10.0, twist=-70.0, elbow=125.0)
        else:
            p.arm(s, w, elev=bend + 30.0, azim=10.0, twist=-60.0, elbow=70.0)
    return p.done(v)


def squat(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("arms_forward", "arms_down", "hands_on_hips"), variant)
    p = Pose(T, st)
    hold = rng.random() < 0.35  # squat down and stay down
    n = 1 if hold else max(1, min(3, int(round(p.t[-1] * 0.55 * st.speed * rng.uniform(0.7, 1.3)))))
    depth = np.zeros(T)
    edges = np.linspace(0.08, 0.95, n + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        span = b - a
        depth = np.maximum(depth, window(p.u, a, a + 0.4 * span, 2.0 if hold else a + 0.55 * span, 3.0 if hold else b))
    depth = depth * min(1.1, 0.7 + 0.3 * st.amp)
    for s in "lr":
        p.leg(s, depth, elev=95.0, azim=15.0, knee=118.0)
        if v == "arms_forward":  # horizontal in the world: 85 deg + the trunk's lean
            p.arm(s, depth, elev=123.0, azim=5.0, elbow=10.0)
        elif v == "arms_down":
            p.arm(s, depth, elev=32.0, azim=10.0, elbow=15.0)
    if v == "hands_on_hips":
        hands_on_hips(p, window(p.u, 0.0, 0.08, 0.95, 1.0))
    p.blend("spine_bend", 38.0, depth)
    return p.done(v + ("-hold" if hold else ""))


def _sit(T: int, st: Style, rng: np.random.Generator, seated: np.ndarray, arms: str) -> Pose:
    p = Pose(T, st)
    lean_fwd = np.sin(np.pi * np.clip(seated, 0.0, 1.0))  # people lean forward on the way down or up
    perch = rng.uniform(-12.0, 8.0)  # seat height differs from chair to chair
    for s in "lr":
        p.leg(s, seated, elev=88.0 + perch, azim=12.0, knee=88.0 + perch)
        if arms == "thighs":
            p.arm(s, seated, elev=50.0, azim=15.0, elbow=45.0)
        elif arms == "crossed":
            p.arm(s, seated, elev=35.0, azim=-25.0, twist=-85.0, elbow=115.0)
    p.blend("spine_bend", 12.0 + 25.0 * lean_fwd, np.maximum(seated, lean_fwd))
    return p


def sit_down(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("thighs", "crossed", "relaxed"), variant)
    seated = smooth((np.linspace(0, 1, T) - rng.uniform(0.1, 0.25)) / rng.uniform(0.3, 0.45))
    return _sit(T, st, rng, seated, v).done(v)


def stand_up(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("thighs", "crossed", "relaxed"), variant)
    seated = 1.0 - smooth((np.linspace(0, 1, T) - rng.uniform(0.1, 0.3)) / rng.uniform(0.3, 0.45))
    return _sit(T, st, rng, seated, v).done(v)


def hands_on_hips(p: Pose, w: np.ndarray) -> None:
    for s in "lr":
        p.arm(s, w, elev=30.0, azim=90.0, twist=-90.0, elbow=65.0)


def hops(p: Pose, times: np.ndarray, height: float, *, crouch: float = 1.0, arms: bool = True) -> np.ndarray:
    """Add jumps taking off at ``times`` (s): crouch, push off on the toes, fly, land soft.

    Returns the airborne indicator (0..1) so callers can move limbs in the air.
    """
    g = 9.81
    flight = 2.0 * np.sqrt(2.0 * height / g)
    air = np.zeros(p.T)
    load = np.zeros(p.T)
    push = np.zeros(p.T)
    for t0 in times:
        s = (p.t - t0) / flight
        inside = (s >= 0) & (s <= 1)
        air = np.maximum(air, np.where(inside, 4.0 * height * s * (1.0 - s), 0.0))
        load = np.maximum(load, np.exp(-0.5 * ((p.t - (t0 - 0.18)) / 0.1) ** 2))
        load = np.maximum(load, 0.7 * np.exp(-0.5 * ((p.t - (t0 + flight + 0.1)) / 0.09) ** 2))
        push = np.maximum(push, np.exp(-0.5 * ((p.t - (t0 + 0.2 * flight)) / (0.16 + 0.3 * flight)) ** 2))
    p.add("air", air)
    for s in "lr":
        p.leg(s, load * crouch, elev=45.0, azim=10.0, knee=75.0)
        p.blend(f"{s}_ankle", 35.0, push)
        if arms:
            p.arm(s, load * crouch, elev=-35.0, azim=0.0, elbow=20.0)
            p.arm(s, push, elev=110.0, azim=10.0, elbow=20.0)
    p.blend("spine_bend", 25.0, load * crouch)
    return np.clip(air / max(height, 1e-6), 0, 1)


def jump(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    p = Pose(T, st)
    height = float(np.clip(rng.uniform(0.15, 0.32) * st.amp, 0.08, 0.4))
    dur = p.t[-1]
    arms = pick(rng, ("swing", "swing", "hands_on_hips", "arms_up"), variant)
    n = 2 if (dur > 2.4 and rng.random() < 0.5) else 1
    times = np.linspace(0.35, dur - 0.45 - 0.45, n) if n > 1 else np.array([rng.uniform(0.35, max(0.36, dur - 0.9))])
    # land before the segment ends: the flight after the last take-off must fit
    room = max(dur - float(times[-1]) - 0.25, 0.12)
    height = min(height, 9.81 * room * room / 8.0)
    airborne = hops(p, times, height, arms=arms != "hands_on_hips")
    if arms == "hands_on_hips":
        hands_on_hips(p, window(p.u, 0.0, 0.1, 0.9, 1.0))
    elif arms == "arms_up":
        for s in "lr":
            p.arm(s, smooth(airborne * 2.0), elev=165.0, azim=20.0, elbow=10.0)
    return p.done(arms)


def kick(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("front", "front", "side", "low"), variant)
    p = Pose(T, st)
    d, o = st.side, st.other
    amp = st.amp * (0.55 if v == "low" else 1.0)
    c = rng.uniform(0.4, 0.6)
    lift = window(p.u, c - 0.3, c - 0.1, c + 0.1, c + 0.3)
    extend = window(p.u, c - 0.1, c - 0.02, c + 0.02, c + 0.1)
    azim = 85.0 if v == "side" else 0.0
    p.leg(d, lift, elev=65.0 * amp, azim=azim, knee=95.0)
    p.leg(d, extend, elev=(60.0 if v == "side" else 80.0) * min(amp, 1.2), azim=azim, knee=8.0, ankle=30.0)
    p.blend(f"{d}_anchor", 0.0, smooth(lift * 3))
    p.blend(f"{o}_knee", 15.0, lift)
    p.arm(o, lift, elev=45.0, azim=70.0, elbow=30.0)
    p.arm(d, lift, elev=25.0, azim=90.0 if v == "side" else -10.0, elbow=40.0)
    if v != "side":
        p.blend("spine_bend", -10.0, lift)
    else:
        p.add("spine_side", (-1.0 if d == "l" else 1.0) * 25.0 * lift)
    return p.done(v)


def run_in_place(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("jog", "high_knees"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, 0.12, 0.88, 1.0)
    ph, _ = cycles(p.t, 1.4 * st.speed, 1)
    knee_hi = min(1.2, st.amp) * rng.uniform(0.7, 1.0) * (0.55 if v == "jog" else 1.0)
    for s, shift in (("l", 0.0), ("r", np.pi)):
        up = np.clip(np.sin(ph + shift), 0, None) * w
        p.leg(s, up, elev=70.0 * knee_hi, azim=0.0, knee=100.0)
        p.blend(f"{s}_anchor", 0.5, w)
        p.arm(s, w, elev=25.0 - 30.0 * np.sin(ph + shift), azim=5.0, elbow=90.0)
    p.add("air", 0.04 * np.abs(np.sin(ph)) * w)
    p.blend("spine_bend", 6.0, w)
    return p.done(v)


def walk(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("forward", "forward", "backward"), variant)
    p = Pose(T, st)
    w = window(p.u, 0.0, 0.15, 0.85, 1.0)
    ph, _ = cycles(p.t, 0.9 * st.speed, 1)
    stride = 25.0 * min(st.amp, 1.2) * (0.6 if v == "backward" else 1.0)
    for s, shift in (("l", 0.0), ("r", np.pi)):
        swing = np.sin(ph + shift)
        p.leg(s, w, elev=stride * swing, azim=0.0, knee=5.0 + 45.0 * np.clip(np.cos(ph + shift), 0, None))
        p.blend(f"{s}_anchor", 0.0, w)
        p.arm(s, w, elev=-18.0 * swing * min(st.amp, 1.2), azim=0.0, elbow=20.0)
    speed = 1.1 * st.speed * st.amp * (-0.5 if v == "backward" else 1.0)
    p.blend("fwd_speed", speed, w)
    return p.done(v)


def turn(T: int, st: Style, rng: np.random.Generator, variant: str | None = None) -> Motion:
    v = pick(rng, ("left", "right", "around"), variant)
    p = Pose(T, st)
    total = {"left": 90.0, "right": -90.0, "around": 180.0 * (1 if rng.random() < 0.5 else -1)}[v]
    prof = smooth((p.u - 0.1) / 0.8)
    p.ch["yaw_rate"] = np.gradient(prof, p.t) * total * deg
    steps = window(p.u, 0.05, 0.15, 0.85, 0.95)
    ph, _ = cycles(p.t, 1.6 * st.speed, 1)
    for s, shift in (("l", 0.0), ("r", np.pi)):
        p.leg(s, steps * np.clip(np.sin(ph + shift), 0, None), elev=25.0, azim=0.0, knee=40.0)
    p.add("neck_turn", np.sign(total) * 20.0 * window(p.u, 0.0, 0.2, 0.6, 0.9))
    return p.done(v)
