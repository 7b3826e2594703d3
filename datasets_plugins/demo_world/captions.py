"""Paraphrased captions for chains of primitives, in the manner of HumanML3D annotations.

Each primitive has verb phrases in the third person ("waves with the right hand") and as
gerunds ("waving with the right hand"); a caption joins the segments' phrases with one of
several connectives and a random subject ("a person", "someone" ...).  Words that name the
target-only classes (salute, throw, cheer, jumping jacks, pick up) never appear, so that
mining has to go through meaning, not spelling.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FORBIDDEN_WORDS", "PHRASES", "segment_phrase", "whole_captions"]

FORBIDDEN_WORDS = ("salute", "throw", "cheer", "jumping jack", "pick up", "picks up", "picking up")

_SUBJECTS = ("a person", "someone", "a man", "a woman", "the person", "a figure", "the man", "a human")

# primitive -> (third-person phrases, gerund phrases); {side} is left/right, {dir} a turn direction
PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wave": (("waves with the {side} hand", "waves hello with the {side} hand", "raises the {side} hand and waves",
              "waves the {side} arm back and forth"),
             ("waving with the {side} hand", "waving hello", "waving the {side} hand")),
    "wave/both": (("waves with both hands", "waves both arms above the head", "waves both hands in the air"),
                  ("waving with both hands", "waving both arms")),
    "raise_hand": (("raises the {side} hand", "lifts the {side} arm up high", "puts the {side} hand up",
                    "raises the {side} arm above the head"),
                   ("raising the {side} hand", "lifting the {side} arm")),
    "raise_arms": (("raises both arms", "lifts both arms over the head", "puts both hands up in the air",
                    "raises the arms above the head"),
                   ("raising both arms", "lifting both arms up")),
    "punch": (("punches forward with the {side} fist", "punches with the {side} hand", "jabs forward",
               "boxes the air with the {side} arm"),
              ("punching forward", "punching with the {side} hand", "jabbing")),
    "punch/alternate": (("punches left and right", "boxes with both fists", "punches with alternating fists"),
                        ("punching left and right", "boxing with both fists")),
    "clap": (("claps", "claps the hands", "claps a few times", "applauds"),
             ("clapping", "clapping the hands", "applauding")),
    "stretch": (("stretches the arms over the head", "stretches", "reaches up and stretches",
                 "stretches the upper body"),
                ("stretching", "stretching the arms up")),
    "look_around": (("looks around", "turns the head left and right", "looks to both sides"),
                    ("looking around", "looking left and right")),
    "bow": (("bows", "bows forward", "bends forward at the waist", "takes a bow"),
            ("bowing", "bending forward", "bowing politely")),
    "squat": (("squats", "squats down and stands back up", "does a squat", "bends the knees and squats"),
              ("squatting", "doing squats", "squatting down")),
    "sit_down": (("sits down", "sits down on a chair", "lowers into a seat", "takes a seat"),
                 ("sitting down", "taking a seat")),
    "stand_up": (("stands up", "gets up from the chair", "rises to a standing position"),
                 ("standing up", "getting up")),
    "jump": (("jumps", "jumps up", "jumps in place", "hops up"),
             ("jumping", "jumping up", "jumping in place")),
    "kick": (("kicks with the {side} leg", "kicks forward with the {side} foot", "does a {side} leg kick",
              "kicks out"),
             ("kicking with the {side} leg", "kicking forward")),
    "run_in_place": (("runs in place", "jogs on the spot", "runs on the spot lifting the knees"),
                     ("running in place", "jogging on the spot")),
    "walk": (("walks forward", "walks a few steps", "takes a few steps forward", "walks ahead"),
             ("walking forward", "walking a few steps")),
    "walk/backward": (("walks backwards", "steps backward", "takes a few steps back"),
                      ("walking backwards", "stepping back")),
    "turn": (("turns {dir}", "turns to the {dir}", "rotates the body to the {dir}"),
             ("turning {dir}", "turning to the {dir}")),
    "turn/around": (("turns around", "turns all the way around", "spins around"),
                    ("turning around", "spinning around")),
}


def _phrases(name: str, variant: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return PHRASES.get(f"{name}/{variant}", PHRASES[name])


def segment_phrase(rng: np.random.Generator, name: str, variant: str, side: str, *, gerund: bool = False) -> str:
    """One phrase for one segment (``side`` is ``"left"`` or ``"right"``)."""
    options = _phrases(name, variant)[1 if gerund else 0]
    text = options[int(rng.integers(len(options)))]
    return text.format(side=side, dir=variant if variant in ("left", "right") else "around")


def _subject(rng: np.random.Generator) -> str:
    return _SUBJECTS[int(rng.integers(len(_SUBJECTS)))]


def whole_captions(rng: np.random.Generator, segments: list[tuple[str, str, str]], count: int = 3) -> list[str]:
    """``count`` different paraphrases of a whole chain of ``(name, variant, side)`` segments."""
    out: list[str] = []
    for attempt in range(count * 4):
        if len(out) == count:
            break
        form = int(rng.integers(4))
        subj = _subject(rng)
        third = [segment_phrase(rng, *s) for s in segments]
        ger = [segment_phrase(rng, *s, gerund=True) for s in segments]
        if form == 0:
            body = third[0] + "".join(
                (", and finally " if i == len(third) - 1 and len(third) > 2 else rng.choice([" and then ", ", then "])) + p
                for i, p in enumerate(third[1:], start=1)
            )
            text = f"{subj} {body}"
        elif form == 1:
            text = f"{subj} {third[0]} before {ger[1]}" + "".join(f", then {p}" for p in third[2:])
        elif form == 2:
            text = f"after {ger[0]}, {subj} {third[1]}" + "".join(f" and then {p}" for p in third[2:])
        else:
            text = ", then ".join(ger)
        text = text[0].upper() + text[1:] + "."
        if text not in out:
            out.append(text)
    return out
