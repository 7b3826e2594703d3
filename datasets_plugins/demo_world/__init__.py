"""The procedural demo world: skeleton motion made by forward kinematics, no licensed data.

``kinematics`` poses the ``smpl22`` body, ``primitives`` and ``compositions`` are the
parametric actions, ``target`` builds the few-shot HAR set (``--dataset demo``),
``source`` and ``captions`` the captioned text-to-motion corpus (``--source demo``).
"""

from .source import SourceSpec, source_clip
from .target import SOURCE_MAPPING, TARGET_CLASSES, TargetSpec, target_clip

__all__ = ["SOURCE_MAPPING", "TARGET_CLASSES", "SourceSpec", "TargetSpec", "source_clip", "target_clip"]
