"""``prepare``: stream a dataset adapter's clips into a store collection, reporting bad files.

Bad inputs never stop the run by default (``on_error="skip"``): each is recorded with its
reason and summarised at the end; the run fails only under ``on_error="fail"`` or when
nothing at all could be read.  Inputs the release itself rules out (``excluded``: official
missing-skeleton lists, ``has_skeleton: false``) and oddities that cost no clip
(``warnings``) are counted beside the skipped files.  The summary is stored as provenance
of the collection.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ..clip import Clip, SkippedItem
from ..errors import KinemicError
from ..plugins import DatasetInfo, PrepareRequest, load_adapter
from ..runtime.progress import progress_task
from ..runtime.provenance import collect_provenance
from ..skeletons import get_joint_map, get_skeleton
from .index import MotionStore
from .writer import BadClip

__all__ = ["PrepareReport", "prepare_dataset"]


@dataclass
class PrepareReport:
    collection: str
    dataset: str
    clips: int
    frames: int
    skeleton: str
    skipped: list[SkippedItem] = field(default_factory=list)
    per_split: dict[str, int] = field(default_factory=dict)
    per_class: dict[str, int] = field(default_factory=dict)
    num_classes: int = 0  # the collection's class names (a captioned corpus names them but labels no clip)
    excluded: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def as_dict(self) -> dict:
        return {
            "collection": self.collection,
            "dataset": self.dataset,
            "clips": self.clips,
            "frames": self.frames,
            "skeleton": self.skeleton,
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason,
            "skipped_files": [{"path": s.path, "reason": s.reason, "detail": s.detail} for s in self.skipped],
            "per_split": self.per_split,
            "per_class": self.per_class,
            "num_classes": self.num_classes,
            "excluded": self.excluded,
            "warning_count": len(self.warnings),
            "warnings": self.warnings[:200],
            "seconds": round(self.seconds, 3),
        }


def prepare_dataset(
    dataset: str,
    request: PrepareRequest,
    store: MotionStore,
    *,
    collection: str | None = None,
    convert_to: str | None = None,
    on_error: str = "skip",
    overwrite: bool = False,
) -> PrepareReport:
    if on_error not in ("skip", "fail"):
        raise KinemicError(f"--on-error must be skip or fail, got {on_error!r}")
    adapter = load_adapter(dataset)
    adapter.check_request(request)
    if store.exists():
        store.validate()
    name = collection or dataset
    start = time.perf_counter()
    stream = adapter.open(request)
    info = stream.info
    joint_map = None
    if convert_to and convert_to != info.skeleton.name:
        joint_map = get_joint_map(info.skeleton.name, convert_to)
        target = get_skeleton(convert_to)
        info = DatasetInfo(skeleton=target, fps=info.fps, class_names=info.class_names, kind=info.kind,
                           persons=info.persons, attrs={**info.attrs, "converted_from": stream.info.skeleton.name})
    writer = store.writer(name, skeleton=info.skeleton, fps=info.fps, class_names=info.class_names, kind=info.kind,
                          persons=info.persons, attrs=info.attrs, overwrite=overwrite)
    report = PrepareReport(collection=name, dataset=dataset, clips=0, frames=0, skeleton=info.skeleton.name)
    split_counts: Counter = Counter()
    class_counts: Counter = Counter()
    try:
        with progress_task(f"prepare {dataset}", stream.total) as bar:
            for item in stream.items:
                if isinstance(item, Clip):
                    if joint_map is not None:
                        item.frames = joint_map.apply(item.frames)
                    try:
                        writer.add(item)
                    except BadClip as bad:  # this clip alone: report it, keep the others
                        item = SkippedItem(bad.sample_id, "bad clip", bad.problem)
                if isinstance(item, SkippedItem):
                    report.skipped.append(item)
                    if on_error == "fail":
                        raise KinemicError(f"{item.path}: {item.reason}" + (f" ({item.detail})" if item.detail else ""))
                elif isinstance(item, Clip):
                    report.clips += 1
                    report.frames += item.length
                    split_counts.update(item.splits)
                    if 0 <= item.label < len(info.class_names):
                        class_counts[info.class_names[item.label]] += 1
                else:
                    raise KinemicError(f"dataset {dataset!r} yielded {type(item).__name__}, expected Clip or SkippedItem")
                bar.advance()
        if report.clips == 0:
            reasons = ", ".join(f"{r}: {n}" for r, n in Counter(s.reason for s in report.skipped).items()) or "no input"
            where = request.root if request.root is not None else dataset
            raise KinemicError(f"{where}: nothing could be read ({reasons})")
        report.per_split = dict(sorted(split_counts.items()))
        report.per_class = {name: class_counts[name] for name in info.class_names if class_counts[name]}
        report.num_classes = len(info.class_names)
        report.excluded = {reason: int(n) for reason, n in stream.excluded.items() if n}
        report.warnings = list(stream.warnings)
        report.seconds = time.perf_counter() - start
        provenance = collect_provenance(
            "prepare",
            {"dataset": dataset, "root": str(request.root) if request.root else None, "persons": request.persons,
             "classes": request.classes, "skeleton": request.skeleton, "convert_to": convert_to,
             "seed": request.seed, "limit": request.limit, "options": request.options, "on_error": on_error},
            inputs=stream.inputs,
            seed=request.seed,
            summary={k: v for k, v in report.as_dict().items() if k not in ("skipped_files", "warnings")},
            skipped_files=[{"path": s.path, "reason": s.reason} for s in report.skipped[:1000]],
            warnings=report.warnings[:1000],
        )
        writer.commit(provenance)
    except BaseException:
        writer.abort()
        raise
    return report
