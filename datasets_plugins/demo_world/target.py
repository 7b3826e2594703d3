"""The ``demo`` target set: short single-action clips with subjects, cameras and a cross-subject split.

It plays the part NTU RGB+D plays for the real method: the few-shot generator sees ten
clips per class of it, and a HAR classifier is judged on its validation subjects.

Clips are 20-80 frames (1-4 s at 20 fps) with the length drawn independently of the
class, and each performance stands at rest for a random lead-in and tail, so neither the
length nor the timing of a clip gives its class away.  Class pairs are chosen to be
confusable (wave / salute, punch / throw, squat / sit down / pick up, jump / jumping jacks
/ cheer up, clap / cheer up, bow / pick up) and every class varies a lot within itself:
variants (a front or a side kick, one or two hands waving), the performer's handedness,
proportions, amplitude and speed, and the camera.

Domain shift against the source corpus (:mod:`.source`), on purpose and visible:

* performers: wider spread of proportions (``spread`` 1.8 against 0.7), slightly longer
  arms and shorter legs on average, a habitual trunk lean; a quarter are left-handed;
* style: smaller movements (amplitude around 0.85 against 1.0) done faster (speed around
  1.15 against 1.0), with a much wider spread per subject and per performance;
* sensor: the clip is seen from one of three cameras (yaw -45, 0, +45 degrees about Y,
  plus +-10 degrees of the performer not facing it squarely), placed up to 0.3 m off the
  origin, with a per-clip scale error of a few percent and tracking jitter.  The jitter is
  added to joint *angles* and the root, not to joint positions, so bone lengths stay fixed
  within a clip as in a skeleton fitted by a tracker.

Each (subject, class, camera, repetition) is its own performance (unlike NTU, where three
Kinects film one performance), drawn from a random stream seeded by exactly that tuple and
the world seed: the same seed gives bit-identical clips whatever ``limit`` or class
selection asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import compositions as comp
from . import primitives as prim
from .kinematics import CHANNELS, Body, forward_kinematics, sample_body
from .primitives import Motion, Style

__all__ = [
    "CAMERA_YAWS_DEG",
    "SOURCE_MAPPING",
    "TARGET_CLASSES",
    "TargetClass",
    "TargetSpec",
    "is_val_subject",
    "iter_target",
    "target_clip",
]

FPS = 20.0
CAMERA_YAWS_DEG = (-45.0, 0.0, 45.0)
_KIND_SUBJECT, _KIND_CLIP = 101, 102  # stream tags mixed into the seeds


@dataclass(frozen=True)
class TargetClass:
    name: str
    generate: Callable[..., Motion]
    source: tuple[str, ...]  # source primitives that are the same or semantically closest
    relation: str  # "same": a source primitive of that name exists; "close" / "composed": not


#: The target classes, in label order, with the source primitives a text encoder should
#: find for each.  Five classes have no source primitive of their name:
#:
#: ==============  ======================  ==========================================
#: target class    source primitives       relation
#: ==============  ======================  ==========================================
#: wave            wave                    same
#: salute          raise_hand, wave        close: the hand goes to the forehead, holds
#: punch           punch                   same
#: throw           punch, raise_hand       close: wind-up overhead, extend like a punch
#: kick            kick                    same
#: squat           squat                   same
#: sit down        sit_down                same
#: jump            jump                    same
#: jumping jacks   jump, raise_arms        composed: hops while arms and legs open
#: clap            clap                    same
#: cheer up        raise_arms, jump        composed: arms up in a V, pumping, hopping
#: bow             bow                     same
#: pick up         bow, squat              composed: bend down, reach the floor, rise
#: run in place    run_in_place            same
#: ==============  ======================  ==========================================
TARGET_CLASSES: tuple[TargetClass, ...] = (
    TargetClass("wave", prim.wave, ("wave",), "same"),
    TargetClass("salute", comp.salute, ("raise_hand", "wave"), "close"),
    TargetClass("punch", prim.punch, ("punch",), "same"),
    TargetClass("throw", comp.throw, ("punch", "raise_hand"), "close"),
    TargetClass("kick", prim.kick, ("kick",), "same"),
    TargetClass("squat", prim.squat, ("squat",), "same"),
    TargetClass("sit down", prim.sit_down, ("sit_down",), "same"),
    TargetClass("jump", prim.jump, ("jump",), "same"),
    TargetClass("jumping jacks", comp.jumping_jacks, ("jump", "raise_arms"), "composed"),
    TargetClass("clap", prim.clap, ("clap",), "same"),
    TargetClass("cheer up", comp.cheer_up, ("raise_arms", "jump"), "composed"),
    TargetClass("bow", prim.bow, ("bow",), "same"),
    TargetClass("pick up", comp.pick_up, ("bow", "squat"), "composed"),
    TargetClass("run in place", prim.run_in_place, ("run_in_place",), "same"),
)

SOURCE_MAPPING: dict[str, tuple[str, ...]] = {c.name: c.source for c in TARGET_CLASSES}


@dataclass(frozen=True)
class TargetSpec:
    """Size and noise of the target set (the adapter's options)."""

    seed: int = 0
    subjects: int = 24
    reps: int = 1
    noise: float = 1.0


@dataclass(frozen=True)
class Performer:
    body: Body
    amp: float
    speed: float
    left_handed: bool
    lean: float
    jitter: float
    habit: dict[str, float]  # constant offsets on joint angles: the performer's posture


def is_val_subject(subject: int) -> bool:
    """Every third subject (3, 6, 9, ...) is held out: 2/3 of the subjects train."""
    return subject % 3 == 0


def performer(seed: int, subject: int) -> Performer:
    rng = np.random.default_rng(np.random.SeedSequence([seed, _KIND_SUBJECT, subject]))
    body = sample_body(rng, spread=1.8, height_mean=0.98, limb_bias=0.04)
    return Performer(
        body=body,
        amp=float(np.exp(rng.normal(np.log(0.85), 0.25))),
        speed=float(np.exp(rng.normal(np.log(1.15), 0.18))),
        left_handed=bool(rng.random() < 0.4),
        lean=float(np.clip(rng.normal(4.0, 4.0), -4.0, 14.0) * prim.deg),
        jitter=float(rng.uniform(0.6, 1.4)),
        habit={name: float(rng.normal(0.0, 9.0) * prim.deg) for name in _HABIT_CHANNELS},
    )


_HABIT_CHANNELS = tuple(
    n for n in CHANNELS if n.endswith(("arm_elev", "arm_azim", "elbow", "knee", "spine_bend", "neck_nod", "leg_azim"))
)


def _time_warp(rng: np.random.Generator, ch: dict[str, np.ndarray], strength: float) -> None:
    """Uneven tempo inside one performance: resample every channel at warped times."""
    T = len(next(iter(ch.values())))
    if T < 3:
        return
    u = np.linspace(0.0, 1.0, T)
    a, b = rng.uniform(-strength, strength, size=2)
    warped = np.clip(u + a * np.sin(np.pi * u) / np.pi + b * np.sin(2 * np.pi * u) / (2 * np.pi), 0.0, 1.0)
    warped = np.maximum.accumulate(warped)
    for k, v in ch.items():
        ch[k] = np.interp(warped, u, v)


def _pad_edges(ch: dict[str, np.ndarray], before: int, after: int) -> dict[str, np.ndarray]:
    return {k: np.pad(v, (before, after), mode="edge") for k, v in ch.items()}


def _tracking_jitter(rng: np.random.Generator, ch: dict[str, np.ndarray], scale: float) -> None:
    """Smoothed noise on joint angles: a fitted skeleton shakes but keeps its bone lengths."""
    T = len(next(iter(ch.values())))
    kernel = np.array([0.25, 0.5, 0.25])
    for name in CHANNELS:
        if name == "air" or name.endswith("anchor"):
            continue
        base = ch.get(name, np.full(T, CHANNELS[name]))
        fast = np.convolve(rng.normal(0.0, 1.6 * prim.deg * scale, T + 2), kernel, mode="valid")
        slow = np.interp(np.arange(T), np.linspace(0, T - 1, 4), rng.normal(0.0, 2.0 * prim.deg * scale, 4))
        ch[name] = base + fast + slow


_FIDGETS = ("none", "none", "head_turn", "weight_shift", "hand_on_hip", "touch_face", "shuffle")


def _fidget(rng: np.random.Generator, ch: dict[str, np.ndarray], style: Style, lead: int, tail: int) -> str:
    """Overlay an unrelated small movement, as real performers do while waiting for the cue.

    Arm and leg fidgets happen only in the idle lead-in or tail, so they never change what
    the action itself looks like; head turns and weight shifts may overlap it.
    """
    kind = _FIDGETS[int(rng.integers(len(_FIDGETS)))]
    T = len(ch["spine_bend"])
    u = np.arange(T, dtype=np.float64)
    if kind in ("head_turn", "weight_shift"):
        c, width = rng.uniform(0, T), rng.uniform(6, 20)
        bump = np.exp(-0.5 * ((u - c) / width) ** 2)
        name, size = ("neck_turn", 35.0) if kind == "head_turn" else ("spine_side", 7.0)
        ch[name] = ch.get(name, np.full(T, CHANNELS[name])) + rng.choice([-1, 1]) * size * prim.deg * bump
        return kind
    idle = (0, lead) if lead >= tail else (T - tail, T)
    if kind == "none" or idle[1] - idle[0] < 8:
        return "none"
    w = prim.window(u, idle[0], idle[0] + 3, idle[1] - 3, idle[1]) if idle[0] > 0 else prim.window(u, -1, 0, idle[1] - 4, idle[1])
    pose = prim.Pose(T, style)
    pose.ch = {k: v.copy() for k, v in ch.items()}
    o = style.other
    if kind == "hand_on_hip":
        pose.arm(o, w, elev=30.0, azim=90.0, twist=-90.0, elbow=65.0)
    elif kind == "touch_face":
        pose.arm(o, w, elev=60.0, azim=10.0, twist=-30.0, elbow=140.0)
    else:
        ph = 2 * np.pi * (u - idle[0]) / max(idle[1] - idle[0], 1)
        for s, shift in (("l", 0.0), ("r", np.pi)):
            pose.blend(f"{s}_leg_elev", 15.0, w * np.clip(np.sin(ph + shift), 0, None))
            pose.blend(f"{s}_knee", 30.0, w * np.clip(np.sin(ph + shift), 0, None))
    ch.update(pose.ch)
    return kind


def target_clip(spec: TargetSpec, subject: int, class_index: int, camera: int, rep: int) -> dict:
    """One performance as ``{"frames": [T, 22, 3] float32, "variant", "side", "camera_yaw"}``."""
    who = performer(spec.seed, subject)
    cls = TARGET_CLASSES[class_index]
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, _KIND_CLIP, subject, class_index, camera, rep]))
    length = int(rng.integers(20, 81))
    core = max(16, int(round(length * rng.uniform(0.55, 1.0))))
    lead = int(rng.integers(0, length - core + 1))
    tail = length - core - lead
    preferred = "l" if who.left_handed else "r"
    side = preferred if rng.random() < 0.75 else ("r" if preferred == "l" else "l")
    style = Style(
        amp=who.amp * float(np.exp(rng.normal(0.0, 0.15))),
        speed=who.speed * float(np.exp(rng.normal(0.0, 0.15))),
        side=side,
        lean=who.lean,
        fps=FPS,
        sloppiness=14.0,
        seed=int(rng.integers(2**31)),
    )
    motion = cls.generate(core, style, rng)
    _time_warp(rng, motion.channels, 0.5)
    ch = _pad_edges(motion.channels, lead, tail)
    for name, offset in who.habit.items():
        ch[name] = ch.get(name, np.full(length, CHANNELS[name])) + offset
    _fidget(rng, ch, style, lead, tail)
    _tracking_jitter(rng, ch, who.jitter * spec.noise)
    yaw = CAMERA_YAWS_DEG[camera] + rng.normal(0.0, 20.0)
    joints = forward_kinematics(who.body, ch, fps=FPS, yaw0=yaw * prim.deg)
    joints[:, :, [0, 2]] += rng.uniform(-0.3, 0.3, size=2)
    joints[:, :, [0, 2]] += np.cumsum(rng.normal(0.0, 0.003 * spec.noise, size=(length, 1, 2)), axis=0)
    joints *= 1.0 + rng.normal(0.0, 0.025)
    return {
        "frames": joints.astype(np.float32),
        "variant": motion.variant,
        "side": "left" if side == "l" else "right",
        "camera_yaw": float(CAMERA_YAWS_DEG[camera]),
    }


def iter_target(spec: TargetSpec, class_indices: list[int]) -> Iterator[tuple[int, int, int, int]]:
    """(subject, class_index, camera, rep) in stream order: camera, rep, subject, class.

    Classes vary fastest so that the first few dozen clips (``--limit``) already cover
    every class and both sides of the split.
    """
    for camera in range(len(CAMERA_YAWS_DEG)):
        for rep in range(spec.reps):
            for subject in range(1, spec.subjects + 1):
                for c in class_indices:
                    yield subject, c, camera, rep
