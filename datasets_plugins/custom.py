"""Adapter ``custom``: your own folder of ``.npy`` clips -> a collection.

``--root DIR`` holds clips ``(T, J, C)`` or ``(T, M, J, C)`` (any numeric dtype, stored as
float32) and, for labelled data, ``labels.csv`` (``file,label[,subject,camera,caption,
split]``; see :mod:`datasets_plugins.custom_index` for every column and the har/t2m rule).
Optional beside them:

- ``texts/<id>.txt``: captions in HumanML3D's format (``caption#tokens#start#end``, times
  in seconds, ``0#0`` = whole clip; see :mod:`datasets_plugins.captions`).  A labelled
  clip without any caption is captioned with its class name; a ``t2m`` clip without one
  is skipped (``no captions``).
- ``frame_data/<name>/<id>.npy``: per-frame arrays ``(T, ...)`` kept beside the frames.
- ``skeleton.yaml`` (used when neither ``--skeleton NAME`` nor ``--skeleton-file`` is
  given), ``classes.txt``, ``dataset.json`` (fps, attrs): what ``kinemic store export
  --format npy`` writes, so an exported collection reads back identically.

``--persons`` keeps the first N persons of each clip (default: the most any clip has, read
from the ``.npy`` headers before any data).  fps: ``--option fps=``, else ``dataset.json``,
else the skeleton's.  Every ``.npy`` is loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kinemic_cli.clip import Caption, Clip, SkippedItem
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import Skeleton, get_skeleton, list_skeletons, skeleton_from_yaml

from ._common import select_classes, unexpected
from .captions import exact_frame, parse_caption_lines
from .custom_index import ClipRow, CustomIndex, read_index
from .npy_files import NpyFileError, load_npy, npy_header

__all__ = ["CustomAdapter"]


def _skeleton(request: PrepareRequest, root: Path) -> Skeleton:
    if request.skeleton_file:
        return skeleton_from_yaml(request.skeleton_file)
    if request.skeleton:
        return get_skeleton(request.skeleton)
    if (root / "skeleton.yaml").is_file():
        return skeleton_from_yaml(root / "skeleton.yaml")
    raise KinemicError(f"{root}: custom data needs --skeleton NAME ({', '.join(list_skeletons())}) "
                       "or --skeleton-file FILE.yaml")


def _fps(request: PrepareRequest, settings: dict, skeleton: Skeleton) -> float:
    raw = request.options.get("fps", settings.get("fps"))
    if raw is None:
        return skeleton.fps
    try:
        fps = float(raw)
    except (TypeError, ValueError):
        fps = math.nan
    if not (math.isfinite(fps) and fps > 0):
        raise KinemicError(f"--option fps= expects a positive number, got {raw!r}")
    return fps


def _persons(request: PrepareRequest, rows: list[ClipRow]) -> int:
    if request.persons is not None:
        if int(request.persons) < 1:
            raise KinemicError(f"--persons must be at least 1, got {request.persons}")
        return int(request.persons)
    most = 1
    for row in rows:
        try:
            shape = npy_header(row.path).shape
        except NpyFileError:
            continue  # reported when the clip is read
        if len(shape) == 4:
            most = max(most, shape[1])
    return most


class CustomAdapter(DatasetAdapter):
    """A folder of .npy clips with labels.csv (har) or captions (t2m), on any registered or YAML skeleton."""

    description = "folder of .npy clips (T,J,C)/(T,M,J,C) + labels.csv and/or HumanML3D-style texts/, any skeleton"
    option_keys = ("fps",)

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        root = Path(request.root)
        if not root.is_dir():
            raise KinemicError(f"{root}: custom expects a folder of .npy clips (with labels.csv for labelled data)")
        skeleton = _skeleton(request, root)
        index = read_index(root)
        if not index.rows and not index.problems:
            raise KinemicError(f"{root}: no .npy clips found")
        if request.classes and index.kind != "har":
            raise KinemicError(f"{root}: --classes needs labels (labels.csv with a label column)")
        chosen = select_classes(index.class_names, request.classes, dataset="custom") if index.kind == "har" else []
        label_of = {index.class_names[k]: i for i, k in enumerate(chosen)}
        rows = index.rows
        excluded = {}
        if request.classes:
            kept = [r for r in rows if r.label in label_of]
            excluded["not in --classes"] = len(rows) - len(kept)
            rows = kept
        if request.limit is not None:
            rows = rows[: max(0, int(request.limit))]
        persons = _persons(request, rows)
        attrs = index.settings.get("attrs") or {}
        if not isinstance(attrs, dict):
            raise KinemicError(f"{root / 'dataset.json'}: attrs must be a JSON object, got {type(attrs).__name__}")
        attrs = dict(attrs)
        attrs.setdefault("protocols", sorted({s.rsplit("/", 1)[0] for r in rows for s in r.splits if "/" in s}))
        class_names = [index.class_names[k] for k in chosen] if index.kind == "har" else list(index.class_names)
        info = DatasetInfo(skeleton=skeleton, fps=_fps(request, index.settings, skeleton), class_names=class_names,
                           kind=index.kind, persons=persons, attrs=attrs)
        reader = _ClipReader(root, skeleton, persons, info.fps, index, label_of)
        return DatasetStream(info=info, total=len(index.problems) + len(rows), items=reader.items(rows),
                             inputs=[str(root)], excluded=excluded, warnings=reader.warnings)


class _ClipReader:
    def __init__(self, root: Path, skeleton: Skeleton, persons: int, fps: float, index: CustomIndex,
                 label_of: dict[str, int]):
        self.root, self.skeleton, self.persons, self.fps = root, skeleton, persons, fps
        self.index, self.label_of = index, label_of
        fd_root = root / "frame_data"
        self.frame_data = sorted(p.name for p in fd_root.iterdir() if p.is_dir()) if fd_root.is_dir() else []
        self.warnings: list[str] = []

    def items(self, rows: list[ClipRow]) -> Iterator[Clip | SkippedItem]:
        yield from self.index.problems
        for row in rows:
            try:
                yield self._clip(row)
            except NpyFileError as exc:
                yield SkippedItem(exc.path, exc.reason, exc.detail)
            except Exception as exc:  # noqa: BLE001 - a reader bug costs this file, not the run
                yield unexpected(str(row.path), exc)

    def _frames(self, row: ClipRow) -> np.ndarray:
        x = load_npy(row.path)
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise NpyFileError(row.path, "wrong shape", f"shaped {x.shape}, expected (T, J, C) or (T, M, J, C)")
        if x.shape[2] != self.skeleton.num_joints:
            raise NpyFileError(row.path, "wrong joint count",
                               f"{x.shape[2]} joints, {self.skeleton.name} has {self.skeleton.num_joints}")
        if x.shape[3] != self.skeleton.channels:
            raise NpyFileError(row.path, "wrong channel count",
                               f"{x.shape[3]} channels, {self.skeleton.name} has {self.skeleton.channels}")
        if x.shape[0] == 0:
            raise NpyFileError(row.path, "empty", "0 frames")
        return x[:, : self.persons].astype(np.float32)

    def _captions(self, row: ClipRow, length: int) -> list[Caption]:
        captions: list[Caption] = []
        text_file = self.root / "texts" / f"{row.sample_id}.txt"
        if text_file.is_file():
            try:
                text = text_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise NpyFileError(text_file, "unreadable", str(exc)[:80]) from None
            captions, notes = parse_caption_lines(text, length=length, fps=self.fps, frame=exact_frame)
            self.warnings.extend(f"{text_file}: {note}" for note in notes)
        if row.caption:
            captions.append(Caption(row.caption))
        if not captions and row.label:
            captions = [Caption(row.label)]
        return captions

    def _clip(self, row: ClipRow) -> Clip | SkippedItem:
        frames = self._frames(row)
        captions = self._captions(row, len(frames))
        if not captions and self.index.kind == "t2m":
            return SkippedItem(str(row.path), "no captions", f"no texts/{row.sample_id}.txt and no caption column")
        frame_data = {}
        for name in self.frame_data:
            path = self.root / "frame_data" / name / f"{row.sample_id}.npy"
            data = load_npy(path)
            if len(data) != len(frames):
                return SkippedItem(str(path), "length mismatch", f"{len(data)} frames of {name}, clip has {len(frames)}")
            frame_data[name] = data.astype(np.float32)
        return Clip(frames=frames, sample_id=row.sample_id, label=self.label_of.get(row.label, -1), captions=captions,
                    splits=row.splits, extra=dict(row.extra), frame_data=frame_data, **row.meta)
