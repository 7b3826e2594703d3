"""Adapters ``ntu60`` and ``ntu120``: the NTU RGB+D ``.skeleton`` releases -> store collections.

``--root`` is the folder of ``.skeleton`` files (searched recursively, so the two NTU120
archives may sit side by side).  What happens to each file:

- Its name ``SsssCcccPpppRrrrAaaa`` gives setup, camera, subject (the performer P),
  replication and action (label = A - 1).  Files outside the release (NTU60: setups 1-17,
  actions 1-60) and clips on the official missing-skeleton list are *excluded* (counted,
  never read); a ``.skeleton`` file with another name is skipped as ``not an NTU name``.
- It is parsed by :mod:`datasets_plugins.ntu_parse`; a broken file becomes a
  :class:`SkippedItem` with its reason and the run goes on.
- Bodies are tracked by body id; the ``--persons`` (1 or 2, default 2) most active ones
  (largest summed coordinate variance) are kept, most active first.  Frames with no body
  are kept as zeros so time stays true (``empty_frames`` counts them per clip).
- Splits: ``xsub/train|val`` and ``xview/train|val`` (NTU60) or ``xset/train|val``
  (NTU120), by the official rules.  Each clip is captioned with its action name.

Per-clip extras: ``action`` (the A number), ``bodies`` (distinct body ids in the file),
``body_ids`` (the kept ones, comma-separated, exact 17-digit integers), ``empty_frames``.
``--classes`` takes 0-based label ids, names, or A numbers (``A050``); labels are then
renumbered in the order given.  ``--workers N`` parses in N processes; the clip order is
that of the sorted file names whatever N is.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kinemic_cli.clip import Caption, Clip, SkippedItem
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import NTU25

from ._common import check_persons, refuse_skeleton_options, select_classes, unexpected, workers_of
from ._heap import keep_freed_heap
from ._parallel import ordered_map
from .ntu_parse import SkeletonFileError, parse_skeleton, select_bodies
from .ntu_release import (
    CAPTION_FIXES,
    NTU60,
    NTU120,
    NtuName,
    NtuRelease,
    missing_skeletons,
    natural_captions,
    parse_ntu_name,
)

__all__ = ["Ntu60Adapter", "Ntu120Adapter", "NtuTask", "read_ntu_file"]


@dataclass(frozen=True)
class NtuTask:
    """Everything a worker needs to turn one file into a clip (picklable, no adapter state)."""

    path: str
    sample_id: str
    name: NtuName
    label: int
    caption: str
    splits: tuple[str, ...]


def read_ntu_file(task: NtuTask, *, persons: int) -> Clip | SkippedItem:
    """One file -> a clip, or the reason it could not be read (never raises for bad files)."""
    try:
        raw = Path(task.path).read_bytes()
    except OSError as exc:
        return SkippedItem(task.path, "unreadable", exc.strerror or str(exc))
    try:
        parsed = parse_skeleton(raw)
        frames, kept = select_bodies(parsed, persons)
    except SkeletonFileError as exc:
        return SkippedItem(task.path, exc.reason, exc.detail)
    except Exception as exc:  # noqa: BLE001 - a reader bug costs this file, not the run
        return unexpected(task.path, exc)
    n = task.name
    return Clip(
        frames=frames,
        sample_id=task.sample_id,
        label=task.label,
        subject=n.subject,
        camera=n.camera,
        setup=n.setup,
        replication=n.replication,
        captions=[Caption(task.caption)],
        splits=task.splits,
        extra={
            "action": n.action,
            "bodies": len(parsed.body_ids),
            "body_ids": ",".join(str(b) for b in kept),
            "empty_frames": parsed.empty_frames,
        },
    )


class _NtuAdapter(DatasetAdapter):
    release: NtuRelease = NTU60
    option_keys = ()

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        release = self.release
        refuse_skeleton_options(request, dataset=release.name, skeleton="ntu25")
        persons = check_persons(request, dataset=release.name, default=2, maximum=2)
        workers = workers_of(request)
        names = list(release.actions)
        aliases = {f"A{a:03d}": a - 1 for a in range(1, len(names) + 1)}
        aliases.update({f"A{a}": a - 1 for a in range(1, len(names) + 1)})
        chosen = select_classes(names, request.classes, dataset=release.name, aliases=aliases)
        label_of = {action_index: k for k, action_index in enumerate(chosen)}
        root = Path(request.root)
        if not root.is_dir():
            raise KinemicError(f"{root}: {release.name} expects the folder of .skeleton files")
        files = sorted(root.rglob("*.skeleton"), key=lambda p: (p.stem, str(p)))
        if not files:
            raise KinemicError(f"{root}: no .skeleton files found (is this the {release.name} skeleton folder?)")
        missing = missing_skeletons(release)
        excluded: Counter = Counter()
        early: list[SkippedItem] = []
        tasks: list[NtuTask] = []
        seen: set[str] = set()
        for path in files:
            name = parse_ntu_name(path.stem)
            if name is None:
                early.append(SkippedItem(str(path), "not an NTU name", "expected SsssCcccPpppRrrrAaaa.skeleton"))
                continue
            if not release.contains(name):
                excluded[f"not in {release.name} (setup > {release.setups} or action > {len(names)})"] += 1
                continue
            if path.stem in missing:
                excluded["official missing-skeleton list"] += 1
                continue
            if name.action - 1 not in label_of:
                excluded["not in --classes"] += 1
                continue
            if path.stem in seen:
                early.append(SkippedItem(str(path), "duplicate", f"{path.stem} appears more than once under {root}"))
                continue
            seen.add(path.stem)
            class_name = names[name.action - 1]
            tasks.append(NtuTask(str(path), path.stem, name, label_of[name.action - 1],
                                 CAPTION_FIXES.get(class_name, class_name), release.splits(name)))
        if request.limit is not None:
            tasks = tasks[: max(0, int(request.limit))]
        info = DatasetInfo(
            skeleton=NTU25,
            fps=NTU25.fps,
            class_names=[names[i] for i in chosen],
            kind="har",
            persons=persons,
            attrs={
                "protocols": list(release.protocols),
                "release": release.name,
                "actions": [i + 1 for i in chosen],
                "coordinates": "Kinect v2 camera space, metres (x, y, z)",
                "persons_rule": "most active bodies (summed coordinate variance), tracked by body id",
                "missing_skeletons_excluded": int(excluded["official missing-skeleton list"]),
                "class_captions": {names[i]: [natural_captions()[names[i]]] for i in chosen},
            },
        )
        items = self._items(early, tasks, persons, workers)
        return DatasetStream(info=info, total=len(early) + len(tasks), items=items, inputs=[str(root)],
                             excluded=dict(excluded))

    @staticmethod
    def _items(early: list[SkippedItem], tasks: list[NtuTask], persons: int, workers: int) -> Iterator[Clip | SkippedItem]:
        yield from early
        keep_freed_heap()  # before the readers fork: they inherit it
        yield from ordered_map(functools.partial(read_ntu_file, persons=persons), tasks, workers)


class Ntu60Adapter(_NtuAdapter):
    """NTU RGB+D 60 (56,880 clips, 60 actions, setups 1-17); protocols xsub and xview."""

    release = NTU60
    description = "NTU RGB+D 60 .skeleton files (Kinect v2, 25 joints, 60 actions): xsub and xview splits"


class Ntu120Adapter(_NtuAdapter):
    """NTU RGB+D 120 (114,480 clips, 120 actions, setups 1-32); protocols xsub and xset."""

    release = NTU120
    description = "NTU RGB+D 120 .skeleton files (Kinect v2, 25 joints, 120 actions): xsub and xset splits"
