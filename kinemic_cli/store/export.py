"""Export a collection for other tools: a pyskl/mmaction2 annotation pickle, or an npy folder.

Both are written under a temporary name and renamed into place when complete, so a killed
export never leaves a file that looks finished; an existing output is replaced only with
``overwrite=True`` (a file) and never for a folder.

**pyskl** (``format="pyskl"``): ``{"split": {"xsub_train": [frame_dir, ...]}, "annotations":
[{frame_dir, label, total_frames, keypoint (M, T, V, C) float32}]}``; for 2D skeletons
``keypoint`` holds x, y and ``keypoint_score`` the third channel, with ``img_shape`` /
``original_shape``.  Persons that are zero on every frame are dropped after the last real
one (pyskl's single-person clips have ``M = 1``).  A ``"kinemic"`` block beside them (pyskl
and mmaction2 ignore it) keeps what pyskl has no place for: class names, skeleton, fps,
persons, attrs, exact split names, subject/camera/setup/replication, per-clip extras, captions, so
``kinemic prepare --dataset pyskl`` reads the file back to the same collection.
Per-frame data (``frame_data``) is not exported to pyskl.

**npy folder** (``format="npy"``), the layout the ``custom`` adapter reads::

    DIR/<sample_id>.npy            frames (T, M, J, C) float32
    DIR/labels.csv                 file,label,subject,camera,setup,replication,split[,extras...]
    DIR/classes.txt                class names in label order
    DIR/texts/<sample_id>.txt      captions, HumanML3D lines: caption##start#end (seconds; 0#0 = whole clip)
    DIR/frame_data/<name>/<sample_id>.npy   per-frame arrays (T, ...)
    DIR/skeleton.yaml              the skeleton (``--skeleton-file``)
    DIR/dataset.json               fps, kind, attrs, persons, the type of each extra column

``split`` lists a clip's splits separated by ``;``; ``label`` is the class name (empty for
unlabelled clips).  Caption times are ``frame / fps`` written exactly, and the reader takes
``floor(seconds * fps + 1e-6)``, so they read back to the same frames.
"""

from __future__ import annotations

import csv
import json
import pickle
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import yaml

from ..errors import KinemicError
from ..runtime.atomic import atomic_output
from ..runtime.progress import progress_task
from .collection import META_INT_FIELDS, Collection

__all__ = ["ExportReport", "export_collection", "export_pyskl", "export_npy", "pyskl_split_name", "FORMATS"]

FORMATS = ("pyskl", "npy")
NPY_FORMAT_VERSION = 1


@dataclass
class ExportReport:
    collection: str
    format: str
    out: str
    clips: int
    captions_altered: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def pyskl_split_name(name: str) -> str:
    """``xsub/train`` -> ``xsub_train`` (pyskl's naming)."""
    return name.replace("/", "_")


def _selection(coll: Collection, split: str | None) -> np.ndarray:
    return np.arange(len(coll)) if split is None else np.sort(np.asarray(coll.split(split), dtype=np.int64))


def _splits_by_clip(coll: Collection, chosen: np.ndarray) -> dict[int, list[str]]:
    wanted = set(int(i) for i in chosen)
    out: dict[int, list[str]] = {}
    for name in coll.split_names():
        for i in coll.split(name):
            if int(i) in wanted:
                out.setdefault(int(i), []).append(name)
    return out


def _extra_fields(coll: Collection) -> list[str]:
    return [k for k in coll.meta_fields() if k not in (*META_INT_FIELDS, "sample_id")]


def _python(value):
    return value.item() if isinstance(value, np.generic) else value


def _check_out(out: Path, *, overwrite: bool, folder: bool) -> None:
    if out.exists():
        if folder:
            if not out.is_dir() or any(out.iterdir()):
                raise KinemicError(f"{out}: already exists and is not an empty folder; choose another --out")
        elif out.is_dir():
            raise KinemicError(f"{out}: is a folder; --format pyskl writes one .pkl file")
        elif not overwrite:
            raise KinemicError(f"{out}: already exists (use --overwrite to replace it)")
    if not out.parent.exists():
        raise KinemicError(f"{out.parent}: folder not found")


# --------------------------------------------------------------------------- pyskl


def export_pyskl(coll: Collection, out: Path, *, split: str | None = None, overwrite: bool = False) -> ExportReport:
    out = Path(out)
    _check_out(out, overwrite=overwrite, folder=False)
    chosen = _selection(coll, split)
    member = _splits_by_clip(coll, chosen)
    is_2d = coll.skeleton.is_2d
    extras = _extra_fields(coll)
    annotations, clips_meta = [], {k: [] for k in META_INT_FIELDS if k != "label"}
    extra_cols: dict[str, list] = {k: [] for k in extras}
    captions: list[list] = []
    split_lists: dict[str, list[str]] = {}
    with progress_task(f"export {coll.name} -> pyskl", len(chosen)) as bar:
        for row, i in enumerate(chosen):
            i = int(i)
            clip = coll.clip(i)
            frames = np.asarray(clip.frames, np.float32).transpose(1, 0, 2, 3)  # (M, T, V, C)
            real = np.flatnonzero(np.abs(frames).reshape(frames.shape[0], -1).max(axis=1) > 0)
            frames = frames[: int(real[-1]) + 1 if real.size else 1]
            ann = {"frame_dir": clip.sample_id, "label": int(clip.label), "total_frames": int(clip.length)}
            if is_2d:
                ann["keypoint"] = np.ascontiguousarray(frames[..., :2])
                ann["keypoint_score"] = np.ascontiguousarray(frames[..., 2])
                ann["img_shape"] = ann["original_shape"] = (1, 1)  # x, y are normalised image coordinates
            else:
                ann["keypoint"] = np.ascontiguousarray(frames)
            annotations.append(ann)
            for k in clips_meta:
                clips_meta[k].append(int(getattr(clip, k)))
            for k in extras:
                extra_cols[k].append(_python(clip.extra[k]))
            captions.extend([row, c.text, int(c.start), int(c.end)] for c in clip.captions)
            for name in member.get(i, []):
                split_lists.setdefault(pyskl_split_name(name), []).append(clip.sample_id)
            bar.advance()
    split_names: dict[str, str] = {}
    for name in coll.split_names():
        flat = pyskl_split_name(name)
        if flat in split_lists:
            if flat in split_names:
                raise KinemicError(f"collection {coll.name!r}: splits {split_names[flat]!r} and {name!r} "
                                   f"both become pyskl split {flat!r}")
            split_names[flat] = name
    data = {
        "split": split_lists,
        "annotations": annotations,
        "kinemic": {
            "format_version": 1,
            "collection": coll.name,
            "class_names": list(coll.class_names),
            "skeleton": coll.skeleton.to_dict(),
            "fps": float(coll.fps),
            "kind": coll.kind,
            "persons": int(coll.persons),
            "attrs": json.loads(json.dumps(coll.attrs)),
            "split_names": split_names,
            "clips": {**clips_meta, "extra": extra_cols, "captions": captions},
        },
    }
    with atomic_output(out) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(data, f, protocol=4)
    return ExportReport(coll.name, "pyskl", str(out), len(chosen))


# --------------------------------------------------------------------------- npy folder


def _clip_path(sample_id: str) -> PurePosixPath:
    rel = PurePosixPath(sample_id)
    if not sample_id or rel.is_absolute() or ".." in rel.parts or "\\" in sample_id:
        raise KinemicError(f"sample id {sample_id!r} cannot be a file name in the export folder")
    return rel


def _caption_line(text: str, start: int, end: int, length: int, fps: float) -> tuple[str, bool]:
    clean = " ".join(text.replace("#", " ").split())
    if start == 0 and end >= length:
        times = "0.0#0.0"
    else:
        times = f"{start / fps!r}#{end / fps!r}"
    return f"{clean}##{times}", clean != text


def export_npy(coll: Collection, out: Path, *, split: str | None = None) -> ExportReport:
    out = Path(out)
    _check_out(out, overwrite=False, folder=True)
    chosen = _selection(coll, split)
    member = _splits_by_clip(coll, chosen)
    extras = _extra_fields(coll)
    frame_data = coll.frame_data_names()
    altered = 0
    with atomic_output(out) as tmp:  # a folder replacing the (checked empty) --out folder
        tmp.mkdir()
        rows = []
        extra_types: dict[str, str] = {}
        with progress_task(f"export {coll.name} -> npy", len(chosen)) as bar:
            for i in chosen:
                i = int(i)
                clip = coll.clip(i)
                rel = _clip_path(clip.sample_id)
                target = tmp / f"{rel}.npy"
                target.parent.mkdir(parents=True, exist_ok=True)
                np.save(target, np.asarray(clip.frames, np.float32), allow_pickle=False)
                for name in frame_data:
                    fd = tmp / "frame_data" / name / f"{rel}.npy"
                    fd.parent.mkdir(parents=True, exist_ok=True)
                    np.save(fd, np.asarray(clip.frame_data[name], np.float32), allow_pickle=False)
                if clip.captions:
                    lines = []
                    for c in clip.captions:
                        line, changed = _caption_line(c.text, int(c.start), int(c.end), clip.length, coll.fps)
                        lines.append(line)
                        altered += changed
                    text_file = tmp / "texts" / f"{rel}.txt"
                    text_file.parent.mkdir(parents=True, exist_ok=True)
                    text_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
                label = coll.class_names[clip.label] if 0 <= clip.label < len(coll.class_names) else ""
                row = {"file": f"{rel}.npy", "label": label, **{k: getattr(clip, k) for k in META_INT_FIELDS if k != "label"},
                       "split": ";".join(member.get(i, []))}
                for k in extras:
                    value = _python(clip.extra[k])
                    extra_types[k] = "int" if isinstance(value, int) else "float" if isinstance(value, float) else "str"
                    row[k] = repr(value) if isinstance(value, float) else value
                rows.append(row)
                bar.advance()
        columns = ["file", "label", "subject", "camera", "setup", "replication", "split", *extras]
        with open(tmp / "labels.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        (tmp / "classes.txt").write_text("".join(f"{n}\n" for n in coll.class_names), encoding="utf-8")
        (tmp / "skeleton.yaml").write_text(yaml.safe_dump(coll.skeleton.to_dict(), sort_keys=False))
        (tmp / "dataset.json").write_text(json.dumps({
            "format": "kinemic-npy", "version": NPY_FORMAT_VERSION, "collection": coll.name, "fps": float(coll.fps),
            "kind": coll.kind, "persons": coll.persons, "attrs": coll.attrs, "extra_types": extra_types,
        }, indent=1))
    return ExportReport(coll.name, "npy", str(out), len(chosen), captions_altered=altered)


def export_collection(coll: Collection, fmt: str, out: Path, *, split: str | None = None,
                      overwrite: bool = False) -> ExportReport:
    if fmt == "pyskl":
        return export_pyskl(coll, out, split=split, overwrite=overwrite)
    if fmt == "npy":
        if overwrite:
            raise KinemicError("--overwrite does not apply to --format npy (a folder is never replaced)")
        return export_npy(coll, out, split=split)
    raise KinemicError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
