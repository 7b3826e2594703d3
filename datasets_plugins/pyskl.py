"""Adapter ``pyskl``: a pyskl / mmaction2 skeleton annotation pickle -> a collection.

``--root file.pkl``: ``{"split": {name: [frame_dir, ...]}, "annotations": [{frame_dir,
total_frames, label, keypoint (M, T, V, C), keypoint_score (M, T, V) for 2D, img_shape,
...}]}`` (a bare list of annotations is accepted too).  The file is read through
:mod:`datasets_plugins.safe_pickle`: only numpy arrays and builtin containers, never code.

- Skeleton: ``--skeleton`` / ``--skeleton-file``; else the one written by ``kinemic store
  export --format pyskl``; else guessed from the joints: 25 x 3D -> ntu25, 17 + score ->
  coco17 (pyskl's HRNet files), 18 + score -> openpose18, 22 x 3D -> smpl22.
- 2D keypoints get the score as a third channel (x, y, score).
- Splits: ``xsub_train`` -> ``xsub/train`` (a name ending in ``_train``/``_val``/``_test``
  splits at that last underscore); other names are kept.
- Class names: those written by kinemic's export; else ``--option class_names=ntu60``,
  ``ntu120`` or a text file of one name a line; else ``class 0``, ``class 1``, ...
- Subject, camera, setup, replication: written by kinemic's export, else parsed from an
  NTU ``frame_dir`` (``S001C002P003R001A004``).
- A bad annotation (no keypoint, wrong shape, NaN, ``total_frames`` disagreeing with the
  keypoints, a repeated ``frame_dir``) is skipped with its reason, as ``FILE#index``.
- fps: kinemic's export, else ``--option fps=``, else the skeleton's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kinemic_cli.clip import Caption, Clip, SkippedItem
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import Skeleton, get_skeleton, skeleton_from_yaml

from . import coco17  # noqa: F401  (registers the coco17 skeleton)
from ._common import select_classes, unexpected
from .ntu_release import NTU60_ACTIONS, NTU120_ACTIONS, parse_ntu_name
from .safe_pickle import load_data_pickle

__all__ = ["PysklAdapter", "kinemic_split_name"]

KINEMIC_KEY = "kinemic"  # the block ``kinemic store export --format pyskl`` adds beside split/annotations
_GUESS = {(25, False): "ntu25", (17, True): "coco17", (18, True): "openpose18", (22, False): "smpl22"}


def kinemic_split_name(name: str) -> str:
    """``xsub_train`` -> ``xsub/train``; a name without a train/val/test suffix is kept."""
    prefix, _, side = name.rpartition("_")
    return f"{prefix}/{side}" if prefix and side in ("train", "val", "test") else name


def _annotations(data, source: str) -> tuple[list, dict, dict]:
    if isinstance(data, list):
        return data, {}, {}
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise KinemicError(f"{source}: not a pyskl annotation file (expected a dict with an 'annotations' list)")
    split = data.get("split") or {}
    block = data.get(KINEMIC_KEY) or {}
    if not isinstance(split, dict) or not isinstance(block, dict):
        raise KinemicError(f"{source}: 'split' must map split names to lists of frame_dir")
    return data["annotations"], split, block


def _skeleton(request: PrepareRequest, block: dict, annotations: list, source: str) -> Skeleton:
    if request.skeleton_file:
        return skeleton_from_yaml(request.skeleton_file)
    if request.skeleton:
        return get_skeleton(request.skeleton)
    if "skeleton" in block:
        return Skeleton.from_dict(block["skeleton"], source=f"{source} (kinemic block)")
    for ann in annotations:
        kp = ann.get("keypoint") if isinstance(ann, dict) else None
        if isinstance(kp, np.ndarray) and kp.ndim == 4:
            has_score = "keypoint_score" in ann or kp.shape[-1] == 2
            name = _GUESS.get((kp.shape[2], bool(has_score)))
            if name is None:
                raise KinemicError(f"{source}: cannot tell the skeleton of {kp.shape[2]}-joint keypoints; "
                                   "pass --skeleton NAME or --skeleton-file FILE.yaml")
            return get_skeleton(name)
    raise KinemicError(f"{source}: no annotation with a (M, T, V, C) keypoint array")


def _class_names(request: PrepareRequest, block: dict, annotations: list) -> list[str]:
    if "class_names" in block:
        return [str(n) for n in block["class_names"]]
    choice = request.options.get("class_names")
    if choice == "ntu60":
        return list(NTU60_ACTIONS)
    if choice == "ntu120":
        return list(NTU120_ACTIONS)
    if choice:
        path = Path(choice)
        if not path.is_file():
            raise KinemicError(f"--option class_names= expects ntu60, ntu120 or a text file; {path} not found")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    labels = [a.get("label") for a in annotations if isinstance(a, dict)]
    top = max((int(x) for x in labels if isinstance(x, (int, np.integer))), default=-1)
    return [f"class {k}" for k in range(top + 1)]


#: bodies kept per clip unless --persons says otherwise; NTU has 2, the Kinetics tools keep 2.
#: An annotation with thousands of "persons" would otherwise pad every clip to gigabytes.
DEFAULT_MOST_PERSONS = 4
MAX_PERSONS = 16


def _persons(request: PrepareRequest, most: int, block: dict, source: str, warnings: list[str]) -> int:
    if request.persons is not None:
        persons = int(request.persons)
        if not 1 <= persons <= MAX_PERSONS:
            raise KinemicError(f"--persons must be 1..{MAX_PERSONS}, got {persons}")
        return persons
    try:
        declared = int(block.get("persons", 1))
    except (TypeError, ValueError):
        declared = 1
    persons = max(1, most, declared)
    if persons > DEFAULT_MOST_PERSONS:
        warnings.append(f"{source}: up to {persons} bodies per clip; keeping the first {DEFAULT_MOST_PERSONS} "
                        "(--persons N keeps more, at most 16)")
        persons = DEFAULT_MOST_PERSONS
    return persons


def _fps(request: PrepareRequest, block: dict, skeleton: Skeleton) -> float:
    if "fps" in block:
        return float(block["fps"])
    raw = request.options.get("fps")
    if raw is None:
        return skeleton.fps
    try:
        fps = float(raw)
    except ValueError:
        fps = math.nan
    if not (math.isfinite(fps) and fps > 0):
        raise KinemicError(f"--option fps= expects a positive number, got {raw!r}")
    return fps


class PysklAdapter(DatasetAdapter):
    """pyskl / mmaction2 annotation pickle, read without executing code."""

    description = "pyskl/mmaction2 skeleton annotation pickle (.pkl), loaded by a restricted unpickler"
    option_keys = ("class_names", "fps")

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        source = str(request.root)
        annotations, split, block = _annotations(load_data_pickle(Path(request.root)), source)
        skeleton = _skeleton(request, block, annotations, source)
        names = _class_names(request, block, annotations)
        chosen = select_classes(names, request.classes, dataset="pyskl file", aliases=None) if names else []
        label_of = {k: i for i, k in enumerate(chosen)}
        split_names = block.get("split_names") or {}
        splits_of: dict[str, list[str]] = {}
        warnings: list[str] = []
        for pyskl_name, members in split.items():
            kinemic_name = str(split_names.get(pyskl_name, kinemic_split_name(str(pyskl_name))))
            if not isinstance(members, (list, tuple)):
                warnings.append(f"{source}: split {str(pyskl_name)[:40]!r} is a {type(members).__name__}, not a list "
                                "of frame_dir names; ignored")
                continue
            for frame_dir in members:
                splits_of.setdefault(str(frame_dir), []).append(kinemic_name)
        most = max((a["keypoint"].shape[0] for a in annotations
                    if isinstance(a, dict) and isinstance(a.get("keypoint"), np.ndarray) and a["keypoint"].ndim == 4),
                   default=1)
        persons = _persons(request, most, block, source, warnings)
        protocols = sorted({s.rsplit("/", 1)[0] for names_ in splits_of.values() for s in names_ if "/" in s})
        attrs = dict(block.get("attrs") or {"protocols": protocols})
        attrs.setdefault("protocols", protocols)
        info = DatasetInfo(skeleton=skeleton, fps=_fps(request, block, skeleton), class_names=[names[k] for k in chosen],
                           kind=str(block.get("kind", "har")), persons=persons, attrs=attrs)
        count = len(annotations) if request.limit is None else min(len(annotations), max(0, int(request.limit)))
        reader = _AnnotationReader(source, skeleton, persons, label_of, bool(request.classes), splits_of,
                                   block.get("clips") or {})
        return DatasetStream(info=info, total=count, items=reader.items(annotations[:count]), inputs=[source],
                             excluded=reader.excluded, warnings=warnings)


class _AnnotationReader:
    """Turns annotations into clips, remembering frame_dirs already seen."""

    def __init__(self, source: str, skeleton: Skeleton, persons: int, label_of: dict[int, int], filtered: bool,
                 splits_of: dict[str, list[str]], clips: dict):
        self.source, self.skeleton, self.persons = source, skeleton, persons
        self.label_of, self.filtered, self.splits_of, self.clips = label_of, filtered, splits_of, clips
        self.seen: set[str] = set()
        self.excluded: dict[str, int] = {}
        self.captions: dict[int, list[Caption]] = {}
        for row in clips.get("captions", []) if isinstance(clips.get("captions"), (list, tuple)) else []:
            try:
                clip, text, start, end = row
                self.captions.setdefault(int(clip), []).append(Caption(str(text), int(start), int(end)))
            except (TypeError, ValueError, OverflowError):
                continue  # a caption row that is not (clip, text, start, end) carries no caption

    def items(self, annotations: list) -> Iterator[Clip | SkippedItem]:
        for index, ann in enumerate(annotations):
            where = f"{self.source}#{index}"
            try:
                clip = self._clip(index, ann, where)
            except _Bad as bad:
                yield SkippedItem(where, bad.reason, bad.detail)
                continue
            except Exception as exc:  # noqa: BLE001 - a broken annotation costs itself, not the run
                yield unexpected(where, exc)
                continue
            if clip is not None:
                yield clip

    def _clip(self, index: int, ann, where: str) -> Clip | None:
        if not isinstance(ann, dict):
            raise _Bad("not an annotation", f"a {type(ann).__name__}, not a dict")
        frame_dir = str(ann.get("frame_dir", f"clip{index:06d}"))
        if frame_dir in self.seen:
            raise _Bad("duplicate", f"frame_dir {frame_dir!r} appears twice")
        frames = self._frames(ann)
        if "total_frames" in ann and _integer(ann["total_frames"], "total_frames") != len(frames):
            raise _Bad("length mismatch", f"total_frames {ann['total_frames']}, keypoints have {len(frames)}")
        label = _integer(ann.get("label", -1), "label")
        if self.filtered and label not in self.label_of:
            self.excluded["not in --classes"] = self.excluded.get("not in --classes", 0) + 1
            return None
        if label >= 0 and label not in self.label_of:
            raise _Bad("label out of range", f"label {label}, {len(self.label_of)} class names")
        self.seen.add(frame_dir)
        meta = self._meta(index, frame_dir)
        captions = self.captions.get(index, [])
        return Clip(frames=frames, sample_id=frame_dir, label=self.label_of.get(label, -1), captions=captions,
                    splits=tuple(self.splits_of.get(frame_dir, ())), **meta)

    def _frames(self, ann: dict) -> np.ndarray:
        kp = ann.get("keypoint")
        if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.dtype.kind not in "fiu":
            raise _Bad("no keypoints", "keypoint must be a numeric (M, T, V, C) array")
        m, t, v, c = kp.shape
        if v != self.skeleton.num_joints:
            raise _Bad("wrong joint count", f"{v} joints, {self.skeleton.name} has {self.skeleton.num_joints}")
        if t == 0:
            raise _Bad("empty", "0 frames")
        x = kp.astype(np.float32)
        if "keypoint_score" in ann:
            score = ann["keypoint_score"]
            if not isinstance(score, np.ndarray) or score.shape != (m, t, v):
                raise _Bad("wrong shape", f"keypoint_score shaped {getattr(score, 'shape', None)}, expected {(m, t, v)}")
            x = np.concatenate([x, score.astype(np.float32)[..., None]], axis=-1)
        if x.shape[-1] != self.skeleton.channels:
            raise _Bad("wrong channel count", f"{x.shape[-1]} channels, {self.skeleton.name} has {self.skeleton.channels}")
        if not np.isfinite(x).all():
            raise _Bad("NaN", "non-finite keypoint values")
        return x[: self.persons].transpose(1, 0, 2, 3)

    def _meta(self, index: int, frame_dir: str) -> dict:
        out: dict = {}
        for key in ("subject", "camera", "setup", "replication"):
            column = self.clips.get(key)
            if column is not None:
                try:
                    out[key] = _integer(column[index], key)
                except IndexError:
                    raise _Bad("bad metadata", f"clips.{key} has no entry {index}") from None
        extra = {k: v[index] for k, v in (self.clips.get("extra") or {}).items()}
        if extra:
            out["extra"] = extra
        if not out:
            name = parse_ntu_name(frame_dir)
            if name is not None:
                out = {"subject": name.subject, "camera": name.camera, "setup": name.setup,
                       "replication": name.replication}
        return out


def _integer(value, what: str) -> int:
    """An integer field of an annotation (numpy integers too); anything else is a bad annotation."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _Bad("bad metadata", f"{what} is {str(value)[:30]!r}, not an integer")
    return int(value)


class _Bad(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(reason)
        self.reason, self.detail = reason, detail
