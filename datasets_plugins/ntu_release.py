"""Facts of the NTU RGB+D 60 and 120 releases: action names, file names, standard splits.

The class names are the official action names of the release (A001 "drink water" ...
A120 "finger-guessing game ..."): they become the caption text the generator is
conditioned on, so they are kept word for word.  The one official typo, A067 "hush
(quite)", is kept as the class name (other tools match on it) but captioned "hush
(quiet)", since a text encoder reads "quite" as another word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "NTU60_ACTIONS", "NTU120_ACTIONS", "CAPTION_FIXES", "NtuName", "parse_ntu_name",
    "NtuRelease", "NTU60", "NTU120", "missing_skeletons", "natural_captions",
]

NTU60_ACTIONS = [
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping", "reading", "writing",
    "tear up paper", "wear jacket", "take off jacket", "wear a shoe", "take off a shoe",
    "wear on glasses", "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up",
    "hand waving", "kicking something", "reach into pocket", "hopping (one foot jumping)", "jump up",
    "make a phone call/answer phone", "playing with phone/tablet", "typing on a keyboard",
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute",
    "put the palms together", "cross hands in front (say stop)", "sneeze/cough", "staggering",
    "falling", "touch head (headache)", "touch chest (stomachache/heart pain)",
    "touch back (backache)", "touch neck (neckache)", "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person", "giving something to other person",
    "touch other person's pocket", "handshaking", "walking towards each other",
    "walking apart from each other",
]

NTU120_ACTIONS = NTU60_ACTIONS + [
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down",
    "make ok sign", "make victory sign", "staple book", "counting money", "cutting nails",
    "cutting paper (using scissors)", "snapping fingers", "open bottle", "sniff (smell)", "squat down",
    "toss a coin", "fold paper", "ball up paper", "play magic cube", "apply cream on face",
    "apply cream on hand back", "put on bag", "take off bag", "put something into a bag",
    "take something out of a bag", "open a box", "move heavy objects", "shake fist",
    "throw up cap/hat", "hands up (both hands)", "cross arms", "arm circles", "arm swings",
    "running on the spot", "butt kicks (kick backward)", "cross toe touch", "side kick", "yawn",
    "stretch oneself", "blow nose", "hit other person with something",
    "wield knife towards other person", "knock over other person (hit with body)",
    "grab other person's stuff", "shoot at other person with a gun", "step on foot", "high-five",
    "cheers and drink", "carry something with other person", "take a photo of other person",
    "follow other person", "whisper in other person's ear", "exchange things with other person",
    "support somebody with hand", "finger-guessing game (playing rock-paper-scissors)",
]

CAPTION_FIXES = {"hush (quite)": "hush (quiet)"}

_NAME = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})$")


@dataclass(frozen=True)
class NtuName:
    """The fields of ``SsssCcccPpppRrrrAaaa``; the subject is the performer P (not the setup S)."""

    setup: int
    camera: int
    subject: int
    replication: int
    action: int  # 1-based; the label is action - 1


def parse_ntu_name(stem: str) -> NtuName | None:
    m = _NAME.match(stem)
    if m is None:
        return None
    setup, camera, subject, replication, action = (int(g) for g in m.groups())
    return NtuName(setup, camera, subject, replication, action)


_XSUB60 = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
_XSUB120 = _XSUB60 | frozenset({
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89,
    91, 92, 93, 94, 95, 97, 98, 100, 103,
})


@dataclass(frozen=True)
class NtuRelease:
    """One release: its extent, action names, protocols and the rule of each split."""

    name: str
    setups: int
    actions: tuple[str, ...]
    protocols: tuple[str, ...]
    xsub_train_subjects: frozenset[int]
    missing_list: str

    def contains(self, n: NtuName) -> bool:
        return 1 <= n.setup <= self.setups and 1 <= n.action <= len(self.actions)

    def splits(self, n: NtuName) -> tuple[str, ...]:
        """Named splits of a clip: ``xsub/train`` or ``xsub/val``, and the second protocol's."""
        out = [f"xsub/{'train' if n.subject in self.xsub_train_subjects else 'val'}"]
        if "xview" in self.protocols:  # cameras 2 and 3 train, camera 1 validates
            out.append(f"xview/{'train' if n.camera in (2, 3) else 'val'}")
        if "xset" in self.protocols:  # even setups train, odd setups validate
            out.append(f"xset/{'train' if n.setup % 2 == 0 else 'val'}")
        return tuple(out)


NTU60 = NtuRelease("ntu60", 17, tuple(NTU60_ACTIONS), ("xsub", "xview"), _XSUB60, "ntu60_missing_skeletons.txt")
NTU120 = NtuRelease("ntu120", 32, tuple(NTU120_ACTIONS), ("xsub", "xset"), _XSUB120, "ntu120_missing_skeletons.txt")


def natural_captions() -> dict[str, str]:
    """Action name -> a natural caption ("running on the spot" -> "a person runs on the spot").

    The default text the generator is conditioned on for an NTU class (a template on the
    bare name reads "a person running on the spot"); shipped as package data.
    """
    text = resources.files("datasets_plugins").joinpath("data", "ntu_captions.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return dict(zip(NTU120_ACTIONS, lines))


def missing_skeletons(release: NtuRelease) -> frozenset[str]:
    """The official list of clips whose skeletons are missing (shipped as package data)."""
    text = resources.files("datasets_plugins").joinpath("data", release.missing_list).read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())
