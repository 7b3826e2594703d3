"""The index of a ``custom`` folder: which clips, their labels, metadata, splits and kind.

Read once, before any clip, from ``labels.csv`` (and ``classes.txt``, ``dataset.json`` if
present).  The kind rule, stated once:

- ``labels.csv`` with a non-empty ``label`` on some row -> ``har`` (a row without a label is
  then skipped as ``no label``);
- ``labels.csv`` whose ``label`` column is missing or empty on every row -> ``t2m``;
- no ``labels.csv`` -> ``t2m``: every ``.npy`` under the folder (outside ``frame_data/``)
  is a clip, in sorted order.

Columns: ``file`` (required, relative to the folder), ``label`` (a class name),
``subject``, ``camera``, ``setup``, ``replication`` (integers), ``caption`` (one whole-clip
caption), ``split`` (names separated by ``;``).  Any other column becomes a per-clip extra
field, typed by ``dataset.json``'s ``extra_types`` or else as int, float or text by what
all its values parse as.  Class order: ``classes.txt`` (one name a line) if present, else
the sorted labels (numerically when all are integers).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kinemic_cli.clip import SkippedItem
from kinemic_cli.errors import KinemicError

from ._common import inside_root

__all__ = ["ClipRow", "CustomIndex", "read_index", "META_COLUMNS"]

META_COLUMNS = ("subject", "camera", "setup", "replication")
#: an extra column becomes an HDF5 dataset name and a Clip.extra key
_EXTRA_NAME = re.compile(r"^(?!sample_id$)[A-Za-z_][A-Za-z0-9_]{0,63}$")
_KNOWN = ("file", "label", *META_COLUMNS, "caption", "split")


@dataclass(frozen=True)
class ClipRow:
    path: Path
    sample_id: str
    label: str  # class name; "" for t2m clips
    meta: dict[str, int] = field(default_factory=dict)
    caption: str = ""
    splits: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass
class CustomIndex:
    rows: list[ClipRow]
    problems: list[SkippedItem]
    class_names: list[str]
    kind: str
    settings: dict  # dataset.json (fps, attrs, extra_types), or {}


def _sample_id(file: str) -> str:
    rel = PurePosixPath(file.replace("\\", "/"))
    return str(rel.with_suffix("")) if rel.suffix == ".npy" else str(rel)


def _settings(root: Path) -> dict:
    path = root / "dataset.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KinemicError(f"{path}: not valid JSON ({str(exc).splitlines()[0][:80]})") from None
    if not isinstance(data, dict):
        raise KinemicError(f"{path}: expected a JSON object (fps, attrs, extra_types)")
    return data


def _typed(name: str, values: list[str], declared: str | None):
    kind = declared
    if kind is None:
        kind = "str"
        if values and all(_is(int, v) for v in values):
            kind = "int"
        elif values and all(_is(float, v) for v in values):
            kind = "float"
    convert = {"int": int, "float": float, "str": str}.get(kind)
    if convert is None:
        raise KinemicError(f"dataset.json: extra_types[{name!r}] must be int, float or str, got {kind!r}")
    return convert


def _is(kind, text: str) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def _class_order(labels: list[str], root: Path) -> list[str]:
    path = root / "classes.txt"
    if path.is_file():
        names = [line.rstrip("\r\n") for line in path.read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n.strip()]
        if len(set(names)) != len(names):
            raise KinemicError(f"{path}: a class name appears twice")
        return names
    distinct = sorted(set(labels))
    if distinct and all(_is(int, x) for x in distinct):
        distinct.sort(key=int)
    return distinct


def read_index(root: Path) -> CustomIndex:
    settings = _settings(root)
    csv_path = root / "labels.csv"
    if not csv_path.is_file():
        frame_data = root / "frame_data"
        files = sorted(p for p in root.rglob("*.npy") if frame_data not in p.parents)
        rows = [ClipRow(p, _sample_id(str(p.relative_to(root).as_posix())), "") for p in files]
        return CustomIndex(rows, [], _class_order([], root) if (root / "classes.txt").is_file() else [], "t2m", settings)
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:  # -sig: spreadsheets write a BOM
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            records = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise KinemicError(f"{csv_path}: not a readable CSV file ({exc})") from None
    if "file" not in columns:
        raise KinemicError(f"{csv_path}: needs a 'file' column (columns: file,label[,subject,camera,caption,split])")
    if len(set(columns)) != len(columns):
        raise KinemicError(f"{csv_path}: a column name appears twice")
    labelled = "label" in columns and any((r.get("label") or "").strip() for r in records)
    kind = "har" if labelled else "t2m"
    names = _class_order([(r.get("label") or "").strip() for r in records if (r.get("label") or "").strip()], root)
    known = set(names)
    declared = settings.get("extra_types") or {}
    if not isinstance(declared, dict):
        raise KinemicError(f"{root / 'dataset.json'}: extra_types must map column names to int, float or str")
    for c in columns:
        if c not in _KNOWN and not _EXTRA_NAME.match(c or ""):
            raise KinemicError(f"{csv_path}: column {str(c)[:40]!r} cannot be a per-clip field (letters, digits and _, "
                               "not starting with a digit; not sample_id)")
    extras = {c: _typed(c, [(r.get(c) or "") for r in records], declared.get(c)) for c in columns if c not in _KNOWN}
    rows: list[ClipRow] = []
    problems: list[SkippedItem] = []
    seen: dict[str, int] = {}
    for line, record in enumerate(records, start=2):
        file = (record.get("file") or "").strip()
        where = f"{csv_path}:{line}"
        if not file:
            problems.append(SkippedItem(where, "no file", "empty 'file' cell"))
            continue
        path = inside_root(root, file)
        if path is None:
            problems.append(SkippedItem(where, "bad file name", f"{file[:60]!r} is not a file inside {root}"))
            continue
        if file in seen:
            problems.append(SkippedItem(where, "listed twice", f"{file[:60]!r} is already on line {seen[file]}"))
            continue
        seen[file] = line
        label = (record.get("label") or "").strip()
        if kind == "har" and not label:
            problems.append(SkippedItem(str(root / file), "no label", f"labels.csv line {line} has no label"))
            continue
        if kind == "har" and label not in known:
            problems.append(SkippedItem(str(root / file), "unknown label", f"{label!r} is not in classes.txt"))
            continue
        try:
            meta = {k: int(record[k]) for k in META_COLUMNS if (record.get(k) or "").strip()}
            extra = {k: convert(record.get(k) or "") for k, convert in extras.items()}
        except ValueError as exc:
            problems.append(SkippedItem(str(root / file), "bad metadata", f"labels.csv line {line}: {exc}"))
            continue
        splits = tuple(s.strip() for s in (record.get("split") or "").split(";") if s.strip())
        rows.append(ClipRow(path, _sample_id(file), label, meta, (record.get("caption") or "").strip(), splits,
                            extra))
    return CustomIndex(rows, problems, names, kind, settings)
