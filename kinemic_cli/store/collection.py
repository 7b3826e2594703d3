"""Read access to one complete, immutable collection file of the store.

Per-clip metadata (offsets, labels, ids) is loaded on open; frames are read one clip at a
time with a single contiguous HDF5 read, so a 100k-clip collection never has to fit in RAM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import h5py
import numpy as np

from ..clip import Caption, Clip
from ..errors import KinemicError
from ..skeletons import Skeleton

if TYPE_CHECKING:
    from .index import MotionStore

__all__ = ["Collection", "CollectionInfo", "META_INT_FIELDS"]

META_INT_FIELDS = ("label", "subject", "camera", "setup", "replication")


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    num_clips: int
    num_frames: int
    skeleton: str
    fps: float
    kind: str
    num_classes: int
    splits: list[str]
    path: str
    size_bytes: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Collection:
    """Read access to one complete collection; per-clip metadata is loaded, frames are not."""

    def __init__(self, store: MotionStore, name: str):
        self.store = store
        self.name = name
        self.path = store.collection_file(name)
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, FileNotFoundError):
            raise KinemicError(f"{self.path}: collection file missing or unreadable") from None
        f = self._file
        if int(f.attrs.get("kinemic_collection", 0)) < 1:
            raise KinemicError(f"{self.path}: not a kinemic collection file")
        self.skeleton = Skeleton.from_dict(json.loads(f.attrs["skeleton"]), source=str(self.path))
        self.fps = float(f.attrs["fps"])
        self.kind = str(f.attrs["kind"])
        self.class_names: list[str] = json.loads(f.attrs["class_names"])
        self.provenance: dict = json.loads(f.attrs["provenance"])
        self.attrs: dict = json.loads(f.attrs.get("attrs", "{}"))
        self.offsets = f["offsets"][()]
        self.labels = f["clips/label"][()]
        self.lengths = np.diff(self.offsets).astype(np.int64)
        self.sample_ids = np.array([s.decode() if isinstance(s, bytes) else s for s in f["clips/sample_id"][()]], dtype=object)
        self._frames = f["frames"]
        self._splits = self._read_splits()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, clips={len(self)}, skeleton={self.skeleton.name})"

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def persons(self) -> int:
        return int(self._frames.shape[1])

    @property
    def num_frames(self) -> int:
        return int(self.offsets[-1])

    def meta(self, field: str) -> np.ndarray:
        """A per-clip array: ``label``, ``subject``, ``camera``, ``setup``, ``replication`` or an extra."""
        key = f"clips/{field}"
        if key not in self._file:
            raise KinemicError(f"collection {self.name!r} has no per-clip field {field!r}")
        data = self._file[key][()]
        if data.dtype.kind in "OS":
            return np.array([v.decode() if isinstance(v, bytes) else v for v in data], dtype=object)
        return data

    def meta_fields(self) -> list[str]:
        return sorted(self._file["clips"].keys())

    def frames(self, index: int) -> np.ndarray:
        """``[T, M, J, C]`` float32 frames of one clip (one contiguous HDF5 read)."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} out of range for {self.name!r} ({len(self)} clips)")
        return self._frames[self.offsets[index] : self.offsets[index + 1]]

    def frame_data(self, name: str, index: int) -> np.ndarray:
        key = f"frame_data/{name}"
        if key not in self._file:
            raise KinemicError(f"collection {self.name!r} has no per-frame data {name!r}")
        return self._file[key][self.offsets[index] : self.offsets[index + 1]]

    def frame_data_names(self) -> list[str]:
        return sorted(self._file["frame_data"].keys()) if "frame_data" in self._file else []

    def captions(self, index: int) -> list[Caption]:
        table = self._caption_table()
        lo, hi = np.searchsorted(table["clip"], [index, index + 1])
        return [
            Caption(str(table["text"][k]), int(table["start"][k]), int(table["end"][k]))
            for k in range(lo, hi)
        ]

    def _caption_table(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "_captions"):
            if "captions" in self._file:
                g = self._file["captions"]
                self._captions = {
                    "clip": g["clip"][()],
                    "text": np.array([t.decode() if isinstance(t, bytes) else t for t in g["text"][()]], dtype=object),
                    "start": g["start"][()],
                    "end": g["end"][()],
                }
            else:
                self._captions = {"clip": np.zeros(0, np.int64), "text": np.zeros(0, object),
                                  "start": np.zeros(0, np.int64), "end": np.zeros(0, np.int64)}
        return self._captions

    def caption_table(self) -> dict[str, np.ndarray]:
        """All captions as columns ``clip, text, start, end`` (sorted by clip)."""
        return self._caption_table()

    def clip(self, index: int) -> Clip:
        extra_fields = [k for k in self.meta_fields() if k not in (*META_INT_FIELDS, "sample_id")]
        clip = Clip(
            frames=self.frames(index),
            sample_id=str(self.sample_ids[index]),
            captions=self.captions(index),
            extra={k: _scalar(self._file[f"clips/{k}"][index]) for k in extra_fields},
            frame_data={n: self.frame_data(n, index) for n in self.frame_data_names()},
        )
        for k in META_INT_FIELDS:
            setattr(clip, k, int(self._file[f"clips/{k}"][index]))
        return clip

    def iter_frames(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frames)``; memory stays at one clip whatever the collection size."""
        for i in range(len(self)) if indices is None else indices:
            yield int(i), self.frames(int(i))

    # splits ------------------------------------------------------------------
    def _read_splits(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if "splits" in self._file:
            def visit(path: str, obj) -> None:
                if isinstance(obj, h5py.Dataset):
                    out[path] = obj[()]
            self._file["splits"].visititems(visit)
        out.update(self.store.index_splits(self.name))
        return out

    def split_names(self) -> list[str]:
        return sorted(self._splits)

    def split(self, name: str) -> np.ndarray:
        try:
            return self._splits[name]
        except KeyError:
            raise KinemicError(
                f"collection {self.name!r} has no split {name!r}; splits: {', '.join(self.split_names()) or 'none'}"
            ) from None

    def info(self) -> CollectionInfo:
        return CollectionInfo(
            name=self.name,
            num_clips=len(self),
            num_frames=self.num_frames,
            skeleton=self.skeleton.name,
            fps=self.fps,
            kind=self.kind,
            num_classes=len(self.class_names),
            splits=self.split_names(),
            path=str(self.path),
            size_bytes=self.path.stat().st_size,
        )


def _scalar(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v
