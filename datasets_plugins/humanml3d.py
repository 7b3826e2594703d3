"""Adapter ``humanml3d``: the HumanML3D text-to-motion corpus folder -> a ``t2m`` collection.

``--root`` holds ``new_joint_vecs/<id>.npy`` (T, 263), ``new_joints/<id>.npy`` (T, 22, 3),
``texts/<id>.txt``, the split lists ``train.txt``, ``val.txt``, ``test.txt`` and
``Mean.npy`` / ``Std.npy``.  Every ``.npy`` is loaded with ``allow_pickle=False``.

- Clips: the joints are the frames (``smpl22``, 20 fps); the 263-d vectors travel with
  them as ``frame_data["hml263"]`` so MDM-style models can use the corpus as it is.
- Captions: each line ``caption#tokens#start#end``; ``start = end = 0`` covers the whole
  clip, else frames ``[int(start*20), int(end*20))`` as the reference loader computes
  them (NaN tags count as 0, as there).  The end is clipped to the clip; a caption whose
  window is empty after that is dropped with a warning.  POS tokens are not kept.
- Splits ``train``, ``val``, ``test`` from the lists (ids starting with ``M`` are the
  mirrored copies and are kept as listed).  The clips are the ids of the lists, in sorted
  order; ``.npy`` files no list names are excluded.  Without any list, every id in
  ``new_joint_vecs/`` is read, in no split (with a warning).
- ``Mean.npy`` and ``Std.npy`` become the collection attrs ``hml263_mean`` / ``hml263_std``.
- All motions are kept whatever their length; the reference trainers use 40..199 frames
  (recorded as the attr ``reference_lengths``) and filter when they load.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kinemic_cli.clip import Clip, SkippedItem
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import SMPL22

from ._common import check_persons, refuse_skeleton_options, select_classes, unexpected
from .captions import parse_caption_lines
from .npy_files import NpyFileError, load_npy, npy_header

__all__ = ["HumanML3DAdapter", "read_motion", "load_joints", "read_split_list"]

FPS = 20
FEATURES = 263
SPLITS = ("train", "val", "test")


def read_split_list(path: Path, warnings: list[str]) -> list[str]:
    """Motion ids of a split list; a line that is not UTF-8 or not a plain file name is left out with a warning."""
    ids = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            warnings.append(f"{path}: line {number} is not UTF-8 text; ignored")
            continue
        if not line:
            continue
        if not _plain_id(line):
            warnings.append(f"{path}: line {number} ({line[:40]!r}) is not a motion id; ignored")
            continue
        ids.append(line)
    return ids


def motion_labels(request: PrepareRequest, root: Path, ids: list[str]) -> tuple[list[str], dict[str, int]]:
    """Class names and each motion's class index, from ``--option labels=FILE`` or ``label_pattern=REGEX``.

    ``labels``: a CSV or whitespace file of ``id,label`` lines (a header line ``id,label``
    allowed).  ``label_pattern``: a regular expression with a group named ``label`` searched
    in each motion id (``A(?P<label>\\d{3})`` reads NTU action numbers).  Class names come
    from ``--option class_names=FILE`` (one per line; integer labels then index it) or are
    the distinct labels, in numeric order when they are all numbers.
    """
    raw: dict[str, str] = {}
    if request.options.get("labels"):
        path = Path(request.options["labels"])
        path = path if path.is_absolute() else root / path if (root / path).is_file() else path
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise KinemicError(f"--option labels={path}: cannot read it ({str(exc)[:60]})") from None
        for number, line in enumerate(text.splitlines(), start=1):
            parts = [p.strip() for p in re.split(r"[,\s]+", line.strip(), maxsplit=1) if p.strip()]
            if not parts or (number == 1 and parts[0].lower() in ("id", "file", "name")):
                continue
            if len(parts) != 2:
                raise KinemicError(f"--option labels={path}: line {number} needs an id and a label")
            raw[parts[0].removesuffix(".npy")] = parts[1]
    if request.options.get("label_pattern"):
        try:
            pattern = re.compile(request.options["label_pattern"])
        except re.error as exc:
            raise KinemicError(f"--option label_pattern: not a regular expression ({exc})") from None
        if "label" not in pattern.groupindex:
            raise KinemicError("--option label_pattern needs a group named label, e.g. A(?P<label>\\d{3})")
        for sid in ids:
            m = pattern.search(sid)
            if m and sid not in raw:
                raw[sid] = m.group("label")
    names_file = request.options.get("class_names")
    if names_file:
        names = [n.strip() for n in Path(names_file).read_text(encoding="utf-8-sig").splitlines() if n.strip()]
        if all(v.isdigit() for v in raw.values()):
            bad = sorted({v for v in raw.values() if int(v) >= len(names)})
            if bad:
                raise KinemicError(f"--option class_names={names_file}: {len(names)} names, labels {bad[:5]} beyond")
            return names, {sid: int(v) for sid, v in raw.items()}
        unknown = sorted(set(raw.values()) - set(names))
        if unknown:
            raise KinemicError(f"--option class_names={names_file}: labels {unknown[:5]} are not in it")
        return names, {sid: names.index(v) for sid, v in raw.items()}
    distinct = sorted(set(raw.values()), key=lambda v: (0, int(v), v) if v.isdigit() else (1, 0, v))
    return distinct, {sid: distinct.index(v) for sid, v in raw.items()}


def _plain_id(sid: str) -> bool:
    """A motion id names a file inside the release's folders: no path parts, no NUL."""
    return bool(sid) and sid not in (".", "..") and not any(c in sid for c in "/\\\0") and not sid.startswith(".")


class HumanML3DAdapter(DatasetAdapter):
    """HumanML3D: ~14.6k motions (29k with mirrors), 3 captions each, joints + 263-d features."""

    description = ("HumanML3D-layout folder (new_joints + new_joint_vecs + texts): a captioned smpl22 corpus, or "
                   "labelled targets with --option labels=FILE or label_pattern=REGEX")
    option_keys = ("labels", "label_pattern", "class_names")

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        refuse_skeleton_options(request, dataset="humanml3d", skeleton="smpl22")
        check_persons(request, dataset="humanml3d", default=1, maximum=1)
        labelled = bool(request.options.get("labels") or request.options.get("label_pattern"))
        if request.classes and not labelled:
            raise KinemicError("humanml3d is a captioned corpus without classes; --classes needs "
                               "--option labels=FILE or --option label_pattern=REGEX")
        root = Path(request.root)
        for sub in ("new_joint_vecs", "new_joints", "texts"):
            if not (root / sub).is_dir():
                raise KinemicError(f"{root}: no {sub}/ folder (is this a HumanML3D folder?)")
        warnings: list[str] = []
        split_of: dict[str, list[str]] = {}
        for split in SPLITS:
            if (root / f"{split}.txt").is_file():
                for sid in read_split_list(root / f"{split}.txt", warnings):
                    split_of.setdefault(sid, []).append(split)
        on_disk = {p.stem for p in (root / "new_joint_vecs").glob("*.npy")}
        excluded: Counter = Counter()
        if split_of:
            ids = sorted(split_of)
            excluded["in no split list"] = len(on_disk - set(split_of))
        else:
            ids = sorted(on_disk)
            warnings.append(f"{root}: no train.txt/val.txt/test.txt; {len(ids)} motions read in no split")
        if request.limit is not None:
            ids = ids[: max(0, int(request.limit))]
        attrs: dict = {"protocols": [], "release": "HumanML3D", "features": "hml263", "reference_lengths": [40, 199]}
        for key, name in (("hml263_mean", "Mean.npy"), ("hml263_std", "Std.npy")):
            try:
                stat = load_npy(root / name)
            except NpyFileError as exc:
                warnings.append(f"{root / name}: {exc.reason} ({exc.detail}); {key} not stored")
                continue
            if stat.shape != (FEATURES,):
                warnings.append(f"{root / name}: shape {stat.shape}, expected ({FEATURES},); {key} not stored")
                continue
            attrs[key] = [float(v) for v in stat.astype(np.float64)]
        class_names: list[str] = []
        labels: dict[str, dict] = {}
        if labelled:
            class_names, label_of = motion_labels(request, root, ids)
            chosen = select_classes(class_names, request.classes, dataset="humanml3d")
            index = {k: i for i, k in enumerate(chosen)}
            kept = [sid for sid in ids if sid in label_of and label_of[sid] in index]
            excluded["no label"] = sum(sid not in label_of for sid in ids)
            excluded["not in --classes"] = len(ids) - len(kept) - excluded["no label"]
            ids, labels = kept, {sid: {"label": index[label_of[sid]]} for sid in kept}
            class_names = [class_names[k] for k in chosen]
        info = DatasetInfo(skeleton=SMPL22, fps=FPS, class_names=class_names, kind="har" if labelled else "t2m",
                           persons=1, attrs=attrs)
        return DatasetStream(info=info, total=len(ids), items=self._items(root, ids, split_of, warnings, labels),
                             inputs=[str(root)], excluded={k: v for k, v in excluded.items() if v}, warnings=warnings)

    @staticmethod
    def _items(root: Path, ids: list[str], split_of: dict[str, list[str]], warnings: list[str],
               labels: dict[str, dict]) -> Iterator[Clip | SkippedItem]:
        for sid in ids:
            try:
                yield read_motion(root, sid, tuple(split_of.get(sid, ())), warnings, fields=labels.get(sid))
            except Exception as exc:  # noqa: BLE001 - a reader bug costs this motion, not the run
                yield unexpected(str(root / "new_joints" / f"{sid}.npy"), exc)


def read_motion(root: Path, sid: str, splits: tuple[str, ...], warnings: list[str], *,
                fields: dict | None = None) -> Clip | SkippedItem:
    """One motion of a HumanML3D-layout folder (joints, 263-d vectors, captions); ``fields``: label, subject, ..."""
    vec_path, joint_path = root / "new_joint_vecs" / f"{sid}.npy", root / "new_joints" / f"{sid}.npy"
    text_path = root / "texts" / f"{sid}.txt"
    try:
        vecs = load_npy(vec_path, shape=(None, FEATURES), what="263-d vectors")
        joints = load_joints(joint_path)
    except NpyFileError as exc:
        return SkippedItem(exc.path, exc.reason, exc.detail)
    if len(vecs) != len(joints):
        return SkippedItem(str(joint_path), "length mismatch", f"{len(joints)} frames of joints, {len(vecs)} of vectors")
    if len(joints) == 0:
        return SkippedItem(str(joint_path), "empty", "0 frames")
    try:
        text = text_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SkippedItem(str(text_path), "missing file", "no caption file for this motion")
    except (OSError, UnicodeDecodeError) as exc:
        return SkippedItem(str(text_path), "unreadable", str(exc)[:80])
    captions, notes = parse_caption_lines(text, length=len(joints), fps=FPS)
    warnings.extend(f"{text_path}: {note}" for note in notes)
    if not captions:
        return SkippedItem(str(text_path), "no captions", "no usable caption line")
    clip = Clip(frames=joints[:, None], sample_id=sid, captions=captions, splits=splits,
                frame_data={"hml263": vecs.astype(np.float32)})
    for key, value in (fields or {}).items():
        setattr(clip, key, value)
    return clip


def load_joints(path: Path) -> np.ndarray:
    """``new_joints/<id>.npy`` as ``[T, 22, 3]``: HumanML3D stores (T, 22, 3), some releases (T, 66)."""
    header = npy_header(path)
    if len(header.shape) == 2 and header.shape[1] == 66:
        return load_npy(path, shape=(None, 66), what="joints").reshape(-1, 22, 3)
    return load_npy(path, shape=(None, 22, 3), what="joints")
