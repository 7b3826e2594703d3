"""Adapter ``kinetics``: the ST-GCN Kinetics-skeleton release (OpenPose, 2D + score) -> a collection.

``--root`` is the release folder holding ``kinetics_train/`` and ``kinetics_val/`` (one JSON
per video) and their side files ``kinetics_train_label.json`` / ``kinetics_val_label.json``
(``{video_id: {"has_skeleton", "label", "label_index"}}``).  Splits ``train`` and ``val``.

The side file is the authority on labels: videos it marks ``has_skeleton: false`` and
JSON files it does not list are excluded (counted); a video whose JSON carries another
``label_index`` is kept with the side file's label and a warning; a listed video whose
JSON is missing or broken is skipped with the reason.  Class names come from the side
files' ``label``/``label_index`` pairs (an index no video uses is named ``<unused k>``).

Frames are ``[T, persons, 18, 3]`` on ``openpose18``: x and y as in the file (normalised
by frame width/height) and the joint score; see :mod:`datasets_plugins.kinetics_parse` for
the per-frame person choice (``--persons``, default 2) and the ``frame_index`` base
(``--option frame_base=auto|0|1``).  Per-clip extras: ``frame_base``, ``most_people``.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kinemic_cli.clip import Caption, Clip, SkippedItem
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import OPENPOSE18

from ._common import check_persons, inside_root, refuse_skeleton_options, select_classes, unexpected, workers_of
from ._parallel import ordered_map
from .kinetics_parse import KineticsFileError, parse_kinetics

__all__ = ["KineticsAdapter", "KineticsTask", "read_kinetics_file", "read_label_file"]

SPLITS = ("train", "val")


@dataclass(frozen=True)
class KineticsTask:
    path: str
    sample_id: str
    label: int
    label_index: int  # in the side file (the release numbering)
    caption: str
    split: str
    label_file: str


#: class indices beyond this cannot be a real class table (Kinetics has 400 to 700 classes); a side
#: file claiming one would make a class list of millions of names
MAX_CLASSES = 100_000


def read_label_file(path: Path) -> dict[str, dict]:
    """A side file ``{video_id: {has_skeleton, label, label_index}}``, checked entry by entry."""
    try:
        table = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KinemicError(f"{path}: label file not found (the release has one per split)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise KinemicError(f"{path}: not a JSON label file ({str(exc).splitlines()[0][:80]})") from None
    except RecursionError:
        raise KinemicError(f"{path}: not a JSON label file (nested too deep)") from None
    if not isinstance(table, dict):
        raise KinemicError(f"{path}: a label file maps video ids to {{has_skeleton, label, label_index}}")
    for vid, entry in table.items():
        if (not isinstance(entry, dict) or not isinstance(entry.get("label_index"), int)
                or isinstance(entry.get("label_index"), bool) or not isinstance(entry.get("label"), str)):
            raise KinemicError(f"{path}: entry {str(vid)[:60]!r} lacks an integer label_index and a label")
        if not 0 <= entry["label_index"] < MAX_CLASSES:
            raise KinemicError(f"{path}: entry {str(vid)[:60]!r} has label_index {str(entry['label_index'])[:30]}; "
                               f"class indices lie in 0..{MAX_CLASSES - 1}")
    return table


def read_kinetics_file(task: KineticsTask, *, persons: int, frame_base: int | None) -> tuple[Clip | SkippedItem, str | None]:
    """One JSON -> (a clip or the reason it was skipped, a warning line or ``None``)."""
    try:
        raw = Path(task.path).read_bytes()
    except FileNotFoundError:
        return SkippedItem(task.path, "missing file", f"listed in {task.label_file} with has_skeleton: true"), None
    except OSError as exc:
        return SkippedItem(task.path, "unreadable", exc.strerror or str(exc)), None
    try:
        parsed = parse_kinetics(raw, persons=persons, frame_base=frame_base)
    except KineticsFileError as exc:
        return SkippedItem(task.path, exc.reason, exc.detail), None
    except Exception as exc:  # noqa: BLE001 - a reader bug costs this file, not the run
        return unexpected(task.path, exc), None
    warning = None
    if parsed.label_index is not None and parsed.label_index != task.label_index:
        warning = (f"{task.path}: label_index {parsed.label_index} in the file, {task.label_index} in "
                   f"{task.label_file}; using the label file")
    clip = Clip(frames=parsed.frames, sample_id=task.sample_id, label=task.label, captions=[Caption(task.caption)],
                splits=(task.split,), extra={"frame_base": parsed.frame_base, "most_people": parsed.most_people})
    return clip, warning


def _frame_base(request: PrepareRequest) -> int | None:
    raw = request.options.get("frame_base", "auto")
    if raw not in ("auto", "0", "1"):
        raise KinemicError(f"--option frame_base= expects auto, 0 or 1, got {raw!r}")
    return None if raw == "auto" else int(raw)


def _class_names(tables: dict[str, dict[str, dict]], warnings: list[str], root: Path) -> list[str]:
    named: dict[int, str] = {}
    for split, table in tables.items():
        for entry in table.values():
            k, name = entry["label_index"], entry["label"]
            if k < 0:
                raise KinemicError(f"{root}/kinetics_{split}_label.json: negative label_index {k}")
            if named.setdefault(k, name) != name:
                warnings.append(f"kinetics_{split}_label.json: label_index {k} is named both {named[k]!r} and "
                                f"{name!r}; using {named[k]!r}")
    return [named.get(k, f"<unused {k}>") for k in range(max(named) + 1)] if named else []


class KineticsAdapter(DatasetAdapter):
    """Kinetics-skeleton (ST-GCN release): 400 classes, 2D OpenPose joints with scores."""

    description = "Kinetics-skeleton JSON release (ST-GCN, OpenPose 18 joints, x/y/score): train and val splits"
    option_keys = ("frame_base",)

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        refuse_skeleton_options(request, dataset="kinetics", skeleton="openpose18")
        persons = check_persons(request, dataset="kinetics", default=2, maximum=16)
        frame_base = _frame_base(request)
        workers = workers_of(request)
        root = Path(request.root)
        present = [s for s in SPLITS if (root / f"kinetics_{s}").is_dir()]
        if not present:
            raise KinemicError(f"{root}: no kinetics_train/ or kinetics_val/ folder (is this the kinetics-skeleton release?)")
        tables = {s: read_label_file(root / f"kinetics_{s}_label.json") for s in present}
        warnings: list[str] = []
        names = _class_names(tables, warnings, root)
        chosen = select_classes(names, request.classes, dataset="kinetics")
        label_of = {k: i for i, k in enumerate(chosen)}
        excluded: Counter = Counter()
        tasks: list[KineticsTask] = []
        early: list[SkippedItem] = []
        for split in present:
            folder = root / f"kinetics_{split}"
            table = tables[split]
            on_disk = {p.stem for p in folder.glob("*.json")}
            excluded["not in the label file"] += len(on_disk - set(table))
            for vid in sorted(table):
                entry = table[vid]
                if not entry.get("has_skeleton", True):
                    excluded["has_skeleton: false"] += 1
                    continue
                if entry["label_index"] not in label_of:
                    excluded["not in --classes"] += 1
                    continue
                name = names[entry["label_index"]]
                path = inside_root(folder, vid, suffix=".json") if "/" not in str(vid) else None
                if path is None:
                    early.append(SkippedItem(f"kinetics_{split}_label.json", "bad video id",
                                             f"{str(vid)[:60]!r} names a file outside kinetics_{split}/"))
                    continue
                tasks.append(KineticsTask(str(path), vid, label_of[entry["label_index"]],
                                          entry["label_index"], name, split, f"kinetics_{split}_label.json"))
        if request.limit is not None:
            tasks = tasks[: max(0, int(request.limit))]
        info = DatasetInfo(
            skeleton=OPENPOSE18, fps=OPENPOSE18.fps, class_names=[names[k] for k in chosen], kind="har",
            persons=persons,
            attrs={
                "protocols": [],
                "release": "kinetics-skeleton (ST-GCN)",
                "label_indices": list(chosen),
                "coordinates": "x, y normalised by frame width/height; channel 2 is the joint score",
                "persons_rule": "per frame, the persons with the highest total joint score",
            },
        )
        reader = functools.partial(read_kinetics_file, persons=persons, frame_base=frame_base)
        return DatasetStream(info=info, total=len(tasks) + len(early),
                             items=self._items(reader, tasks, workers, warnings, early),
                             inputs=[str(root)], excluded=dict(excluded), warnings=warnings)

    @staticmethod
    def _items(reader, tasks: list[KineticsTask], workers: int, warnings: list[str],
               early: list[SkippedItem]) -> Iterator[Clip | SkippedItem]:
        yield from early
        for item, warning in ordered_map(reader, tasks, workers):
            if warning is not None:
                warnings.append(warning)
            yield item
