"""Adapters of the built-in demo world: ``demo`` (few-shot HAR target) and ``demo-t2m`` (source corpus).

Both need no files: every clip is made on the fly by forward kinematics from parametric
primitives (:mod:`datasets_plugins.demo_world`), reproducibly from ``--seed``.  They exist
so that every stage of kinemic runs and is tested without licensed data; results on them
are results on the demo world, nothing more.

``demo`` options: ``subjects`` (default 24; every third one is a validation subject),
``reps`` (repetitions per subject, class and camera; default 2), ``noise`` (tracking
jitter scale, default 1.0).  ``demo-t2m`` option: ``clips`` (default 3000).
"""

from __future__ import annotations

from collections.abc import Iterator

from kinemic_cli.clip import Caption, Clip
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import SMPL22

from ._common import int_option
from .demo_world.source import FPS as SOURCE_FPS
from .demo_world.source import VOCABULARY, SourceSpec, source_clip
from .demo_world.target import (
    CAMERA_YAWS_DEG,
    SOURCE_MAPPING,
    TARGET_CLASSES,
    TargetSpec,
    is_val_subject,
    iter_target,
    target_clip,
)
from .demo_world.target import (
    FPS as TARGET_FPS,
)

__all__ = ["DemoAdapter", "DemoT2MAdapter"]


def _float_option(request: PrepareRequest, key: str, default: float) -> float:
    raw = request.options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise KinemicError(f"--option {key}= expects a number, got {raw!r}") from None
    if not 0.0 <= value <= 10.0:
        raise KinemicError(f"--option {key}= must be between 0 and 10, got {value}")
    return value


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").lower().split())


def select_classes(wanted: list[str] | None) -> list[int]:
    """Indices into ``TARGET_CLASSES`` in the order asked for (names, or ids of the full list)."""
    if not wanted:
        return list(range(len(TARGET_CLASSES)))
    by_name = {_norm(c.name): i for i, c in enumerate(TARGET_CLASSES)}
    out: list[int] = []
    for item in wanted:
        key = _norm(str(item))
        if key.isdigit() and int(key) < len(TARGET_CLASSES):
            idx = int(key)
        elif key in by_name:
            idx = by_name[key]
        else:
            known = ", ".join(c.name for c in TARGET_CLASSES)
            raise KinemicError(f"demo has no class {item!r}; classes: {known}")
        if idx in out:
            raise KinemicError(f"class {item!r} asked for twice")
        out.append(idx)
    return out


class DemoAdapter(DatasetAdapter):
    """The few-shot HAR target of the demo world (NTU-like: subjects, 3 cameras, xsub split)."""

    description = "procedural demo world: 14 action classes, 24 subjects, 3 cameras, xsub split (no files needed)"
    needs_root = False
    option_keys = ("subjects", "reps", "noise")

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        spec = TargetSpec(
            seed=int(request.seed),
            subjects=int_option(request, "subjects", 24, minimum=3),
            reps=int_option(request, "reps", 2, minimum=1),
            noise=_float_option(request, "noise", 1.0),
        )
        chosen = select_classes(request.classes)
        names = [TARGET_CLASSES[i].name for i in chosen]
        full = spec.subjects * spec.reps * len(CAMERA_YAWS_DEG) * len(chosen)
        total = full if request.limit is None else min(full, max(0, int(request.limit)))
        info = DatasetInfo(
            skeleton=SMPL22,
            fps=TARGET_FPS,
            class_names=names,
            kind="har",
            persons=1,
            attrs={
                "protocols": ["xsub"],
                "world": "kinemic demo (procedural)",
                "cameras_yaw_deg": list(CAMERA_YAWS_DEG),
                "subjects": spec.subjects,
                "reps": spec.reps,
                "noise": spec.noise,
                "val_subjects": [s for s in range(1, spec.subjects + 1) if is_val_subject(s)],
                "source_mapping": {n: list(SOURCE_MAPPING[n]) for n in names},
            },
        )
        return DatasetStream(info=info, total=total, items=self._items(spec, chosen, total))

    @staticmethod
    def _items(spec: TargetSpec, chosen: list[int], total: int) -> Iterator[Clip]:
        label_of = {c: k for k, c in enumerate(chosen)}
        for n, (subject, c, camera, rep) in enumerate(iter_target(spec, chosen)):
            if n >= total:
                return
            made = target_clip(spec, subject, c, camera, rep)
            yield Clip(
                frames=made["frames"][:, None],
                sample_id=f"S{subject:03d}C{camera + 1:03d}R{rep + 1:03d}A{c + 1:03d}",
                label=label_of[c],
                subject=subject,
                camera=camera + 1,
                setup=1,
                replication=rep + 1,
                captions=[Caption(TARGET_CLASSES[c].name)],
                splits=("xsub/val",) if is_val_subject(subject) else ("xsub/train",),
                extra={"variant": made["variant"], "side": made["side"], "camera_yaw": made["camera_yaw"]},
            )


class DemoT2MAdapter(DatasetAdapter):
    """The captioned source corpus of the demo world (HumanML3D-like: long chained clips)."""

    description = "procedural demo world: 3000 captioned text-to-motion clips chaining 2-4 primitives (no files needed)"
    needs_root = False
    option_keys = ("clips",)

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        if request.classes:
            raise KinemicError("demo-t2m is a captioned corpus without classes; --classes does not apply")
        spec = SourceSpec(seed=int(request.seed), clips=int_option(request, "clips", 3000, minimum=1))
        total = spec.clips if request.limit is None else min(spec.clips, max(0, int(request.limit)))
        info = DatasetInfo(
            skeleton=SMPL22,
            fps=SOURCE_FPS,
            class_names=list(VOCABULARY),
            kind="t2m",
            persons=1,
            attrs={"world": "kinemic demo (procedural)", "protocols": [], "segments": "name:start:end;..."},
        )
        return DatasetStream(info=info, total=total, items=self._items(spec, total))

    @staticmethod
    def _items(spec: SourceSpec, total: int) -> Iterator[Clip]:
        for index in range(total):
            made = source_clip(spec, index)
            captions = [Caption(text) for text in made["captions"]]
            captions += [Caption(text, start, end) for text, start, end in made["partial"]]
            yield Clip(
                frames=made["frames"][:, None],
                sample_id=f"{index:06d}",
                captions=captions,
                splits=(made["split"],),
                extra={"segments": made["segments"]},
            )
