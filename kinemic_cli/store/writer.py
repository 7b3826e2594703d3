"""Streaming writer of new collections: bounded memory, invisible until committed.

Clips are buffered and flushed as *parts*, small HDF5 files renamed into the collection's
``.partial`` folder only when complete; ``commit`` concatenates the parts into the final
collection file in one streaming pass and installs it under the store lock.  A writer
killed at any moment leaves whole parts behind, which ``resume=True`` picks up.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from ..clip import Clip
from ..errors import KinemicError
from ..runtime.atomic import atomic_output, atomic_write_text, fsync_path, temporary_name
from ..skeletons import Skeleton
from .clip_checks import clip_problem
from .collection import META_INT_FIELDS, Collection
from .names import FORMAT_VERSION, check_collection_name, check_split_name

if TYPE_CHECKING:
    from .index import MotionStore

__all__ = ["CollectionWriter", "BadClip"]


class BadClip(KinemicError):
    """A clip the store cannot hold; the writer refused it alone (``prepare`` skips and reports it)."""

    def __init__(self, sample_id: str, problem: str):
        super().__init__(f"clip {str(sample_id)[:60]!r}: {problem}")
        self.sample_id, self.problem = str(sample_id)[:200], problem

_STR = h5py.string_dtype("utf-8")


class CollectionWriter:
    """Streams clips into a new collection with bounded memory; ``commit`` makes it visible.

    Clips are buffered and flushed as *parts* (small HDF5 files renamed into the
    ``.partial`` folder when complete).  ``commit`` concatenates the parts into the final
    file in one streaming pass and installs it under the store lock.  With
    ``resume=True`` complete parts of an earlier, interrupted writer are kept and
    :attr:`done_ids` tells the caller which clips it may skip.
    """

    def __init__(
        self,
        store: MotionStore,
        name: str,
        *,
        skeleton: Skeleton,
        fps: float,
        class_names: list[str],
        kind: str = "har",
        persons: int = 1,
        attrs: dict | None = None,
        resume: bool = False,
        overwrite: bool = False,
        part_frames: int = 100_000,
        compression: str | None = "lzf",
    ):
        self.store = store
        self.name = check_collection_name(name)
        self.skeleton = skeleton
        self.fps = float(fps)
        self.class_names = list(class_names)
        self.kind = kind
        self.persons = int(persons)
        self.attrs = dict(attrs or {})
        self.overwrite = overwrite
        self.part_frames = part_frames
        self.compression = compression
        if store.exists():
            store.validate()
            if name in store.list() and not overwrite:
                raise KinemicError(f"{store.path}: collection {name!r} already exists (use --overwrite to replace it)")
        self.partial_dir = store.data_dir / f"{name}.partial"
        self._lock_fd = self._claim(store, name)
        header = {
            "skeleton": skeleton.to_dict(), "fps": self.fps, "class_names": self.class_names,
            "kind": kind, "persons": self.persons, "attrs": self.attrs,
        }
        if self.partial_dir.exists() and resume:
            old = json.loads((self.partial_dir / "header.json").read_text()) if (self.partial_dir / "header.json").exists() else None
            if old != header:
                raise KinemicError(
                    f"{self.partial_dir}: an interrupted write of {name!r} with different settings exists; "
                    "re-run without --resume to start over"
                )
        else:
            shutil.rmtree(self.partial_dir, ignore_errors=True)
            self.partial_dir.mkdir(parents=True)
            atomic_write_text(self.partial_dir / "header.json", json.dumps(header))
        self._parts = sorted(self.partial_dir.glob("part-*.h5"))
        self.done_ids: set[str] = set()
        for part in self._parts:
            with h5py.File(part, "r") as f:
                self.done_ids.update(s.decode() if isinstance(s, bytes) else s for s in f["clips/sample_id"][()])
        self._buffer: list[Clip] = []
        self._buffered_frames = 0
        self._ids: set[str] = set(self.done_ids)
        self._fields: tuple | None = self._fields_of(self._parts[0]) if self._parts else None
        self._extra_kinds: dict[str, str] = {}
        self._frame_data_shapes: dict[str, tuple] = {}
        self.num_written = len(self.done_ids)

    @staticmethod
    def _claim(store: MotionStore, name: str) -> int:
        """Hold an exclusive lock on this collection name for the writer's lifetime.

        Two processes writing the same name would share one ``.partial`` folder; the
        second is refused instead.  The kernel drops the lock when a process dies, so a
        killed writer never blocks the re-run.
        """
        store.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(store.data_dir / f".{name}.writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise KinemicError(f"{store.path}: another process is writing collection {name!r} right now") from None
        return fd

    def release(self) -> None:
        """Stop writing without committing: complete parts stay for a later ``resume``."""
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __del__(self) -> None:
        self.release()

    def add(self, clip: Clip) -> None:
        """Buffer one clip; a clip the store cannot hold is refused alone (:class:`BadClip`), nothing else changes."""
        problem = clip_problem(clip, joints=self.skeleton.num_joints, channels=self.skeleton.channels,
                               persons=self.persons)
        if problem is None and clip.sample_id in self._ids:
            problem = "a clip with this sample id is already in the collection"
        if problem is None:
            problem = self._field_problem(clip)
        if problem is not None:
            raise BadClip(clip.sample_id, problem)
        self._ids.add(clip.sample_id)
        self._buffer.append(clip)
        self._buffered_frames += clip.length
        self.num_written += 1
        if self._buffered_frames >= self.part_frames:
            self.flush()

    @staticmethod
    def _fields_of(part: Path) -> tuple:
        """The per-clip and per-frame field names an earlier part (of a resumed write) has."""
        with h5py.File(part, "r") as f:
            extra = tuple(sorted(k for k in f["clips"] if k not in (*META_INT_FIELDS, "sample_id")))
            return extra, tuple(sorted(f["frame_data"].keys()))

    def _field_problem(self, clip: Clip) -> str | None:
        """Every clip of a collection has the same per-clip and per-frame fields (the first clip sets them)."""
        extra = (tuple(sorted(clip.extra)), tuple(sorted(clip.frame_data)))
        if self._fields is None:
            self._fields = extra
        elif extra != self._fields:
            return (f"fields {list(extra[0]) + list(extra[1])} differ from the collection's "
                    f"{list(self._fields[0]) + list(self._fields[1])}")
        return None

    def flush(self) -> None:
        """Write buffered clips as one complete part (atomic rename)."""
        if not self._buffer:
            return
        index = len(self._parts)
        final = self.partial_dir / f"part-{index:06d}.h5"
        with atomic_output(final) as tmp:
            with h5py.File(tmp, "w") as f:
                _write_clips(f, self._buffer, self.persons, self.skeleton, compression=None)
        self._parts.append(final)
        self._buffer = []
        self._buffered_frames = 0

    def commit(self, provenance: dict | None = None, *, splits: dict[str, np.ndarray] | None = None) -> Collection:
        """Concatenate the parts into the collection file and make it visible atomically."""
        self.flush()
        self.store.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(self.store.collection_file(self.name))
        try:
            _concatenate_parts(
                tmp, self._parts, persons=self.persons, skeleton=self.skeleton, compression=self.compression,
                header={
                    "kinemic_collection": FORMAT_VERSION,
                    "name": self.name,
                    "skeleton": self.skeleton.to_json(),
                    "fps": self.fps,
                    "kind": self.kind,
                    "class_names": json.dumps(self.class_names),
                    "provenance": json.dumps(provenance or {}, default=str),
                    "attrs": json.dumps(self.attrs, default=str),
                },
                extra_splits=splits or {},
            )
            fsync_path(tmp)
            self.store.install(self.name, tmp, overwrite=self.overwrite)
        finally:
            if tmp.exists():
                tmp.unlink()
        shutil.rmtree(self.partial_dir, ignore_errors=True)
        self.release()
        return self.store.collection(self.name)

    def abort(self) -> None:
        """Forget everything written so far (the ``.partial`` folder is removed)."""
        shutil.rmtree(self.partial_dir, ignore_errors=True)
        self.release()


def _write_clips(f: h5py.File, clips: list[Clip], persons: int, skeleton: Skeleton, compression) -> None:
    """One part: the same layout as a collection, without attributes."""
    lengths = np.array([c.length for c in clips], dtype=np.int64)
    frames = np.zeros((int(lengths.sum()), persons, skeleton.num_joints, skeleton.channels), np.float32)
    pos = 0
    for c in clips:
        frames[pos : pos + c.length, : c.frames.shape[1]] = c.frames
        pos += c.length
    f.create_dataset("frames", data=frames, compression=compression)
    f.create_dataset("lengths", data=lengths)
    g = f.create_group("clips")
    g.create_dataset("sample_id", data=[c.sample_id for c in clips], dtype=_STR)
    for k in META_INT_FIELDS:
        g.create_dataset(k, data=np.array([getattr(c, k) for c in clips], dtype=np.int32))
    extra_keys = sorted({k for c in clips for k in c.extra})
    for k in extra_keys:
        values = [c.extra.get(k) for c in clips]
        if any(v is None for v in values):
            raise KinemicError(f"per-clip field {k!r} is missing on some clips")
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            g.create_dataset(k, data=np.array(values, dtype=np.int64))
        elif all(isinstance(v, (int, float, np.number)) for v in values):
            g.create_dataset(k, data=np.array(values, dtype=np.float64))
        else:
            g.create_dataset(k, data=[str(v) for v in values], dtype=_STR)
    cap = [
        (i, cap.text, cap.start, clip.length if cap.end is None else cap.end)
        for i, clip in enumerate(clips)
        for cap in clip.captions
    ]
    cg = f.create_group("captions")
    cg.create_dataset("clip", data=np.array([r[0] for r in cap], dtype=np.int64))
    cg.create_dataset("text", data=[r[1] for r in cap], dtype=_STR)
    cg.create_dataset("start", data=np.array([r[2] for r in cap], dtype=np.int64))
    cg.create_dataset("end", data=np.array([r[3] for r in cap], dtype=np.int64))
    names = sorted({k for c in clips for k in c.frame_data})
    fd = f.create_group("frame_data")
    for n in names:
        if any(n not in c.frame_data or len(c.frame_data[n]) != c.length for c in clips):
            raise KinemicError(f"per-frame data {n!r} missing or of the wrong length on some clips")
        fd.create_dataset(n, data=np.concatenate([np.asarray(c.frame_data[n], np.float32) for c in clips]))
    split_names = sorted({s for c in clips for s in c.splits})
    sg = f.create_group("splits")
    for s in split_names:
        sg.create_dataset(s, data=np.array([i for i, c in enumerate(clips) if s in c.splits], dtype=np.int64))


def _concatenate_parts(
    out: Path, parts: list[Path], *, persons: int, skeleton: Skeleton, compression, header: dict,
    extra_splits: dict[str, np.ndarray],
) -> None:
    """Stream the parts into one collection file (one part in memory at a time)."""
    opened = [h5py.File(p, "r") for p in parts]
    try:
        lengths = [f["lengths"][()] for f in opened]
        all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        total = int(all_lengths.sum())
        clip_counts = [len(x) for x in lengths]
        clip_base = np.concatenate([[0], np.cumsum(clip_counts)]).astype(np.int64)
        with h5py.File(out, "w") as f:
            for k, v in header.items():
                f.attrs[k] = v
            shape = (total, persons, skeleton.num_joints, skeleton.channels)
            chunk_rows = max(1, min(total, 1024))
            frames = f.create_dataset(
                "frames", shape=shape, dtype=np.float32, compression=compression if total else None,
                chunks=(chunk_rows, persons, skeleton.num_joints, skeleton.channels) if total else None,
            )
            f.create_dataset("offsets", data=np.concatenate([[0], np.cumsum(all_lengths)]).astype(np.int64))
            pos = 0
            for p in opened:
                n = p["frames"].shape[0]
                frames[pos : pos + n] = p["frames"][()]
                pos += n
            # per-clip fields: the union of keys over parts must be the same in every part
            clip_keys = sorted(opened[0]["clips"].keys()) if opened else ["sample_id", *META_INT_FIELDS]
            g = f.create_group("clips")
            for k in clip_keys:
                for p, path in zip(opened, parts):
                    if k not in p["clips"]:
                        raise KinemicError(f"{path}: part lacks per-clip field {k!r} that other parts have")
                data = [p["clips"][k][()] for p in opened]
                arr = np.concatenate(data) if data else np.zeros(0, np.int32)
                if arr.dtype.kind in "OS":
                    g.create_dataset(k, data=[v.decode() if isinstance(v, bytes) else v for v in arr], dtype=_STR)
                else:
                    g.create_dataset(k, data=arr)
            if not opened:
                g.create_dataset("sample_id", data=np.zeros(0, dtype=object), dtype=_STR)
                for k in META_INT_FIELDS:
                    g.create_dataset(k, data=np.zeros(0, np.int32))
            cg = f.create_group("captions")
            cap_clip = [p["captions/clip"][()] + base for p, base in zip(opened, clip_base)]
            cg.create_dataset("clip", data=np.concatenate(cap_clip) if cap_clip else np.zeros(0, np.int64))
            texts = [t for p in opened for t in p["captions/text"][()]]
            cg.create_dataset("text", data=[t.decode() if isinstance(t, bytes) else t for t in texts], dtype=_STR)
            for k in ("start", "end"):
                cols = [p[f"captions/{k}"][()] for p in opened]
                cg.create_dataset(k, data=np.concatenate(cols) if cols else np.zeros(0, np.int64))
            fd_names = sorted(opened[0]["frame_data"].keys()) if opened else []
            fg = f.create_group("frame_data")
            for n in fd_names:
                first = opened[0][f"frame_data/{n}"]
                ds = fg.create_dataset(n, shape=(total, *first.shape[1:]), dtype=np.float32, compression=compression)
                pos = 0
                for p, path in zip(opened, parts):
                    if f"frame_data/{n}" not in p:
                        raise KinemicError(f"{path}: part lacks per-frame data {n!r}")
                    block = p[f"frame_data/{n}"][()]
                    ds[pos : pos + len(block)] = block
                    pos += len(block)
            split_members: dict[str, list[np.ndarray]] = {}
            for p, base in zip(opened, clip_base):
                def visit(path: str, obj, base=base) -> None:
                    if isinstance(obj, h5py.Dataset):
                        split_members.setdefault(path, []).append(obj[()] + base)
                p["splits"].visititems(visit)
            sg = f.create_group("splits")
            for s, chunks in sorted(split_members.items()):
                sg.create_dataset(s, data=np.concatenate(chunks).astype(np.int64))
            for s, idx in sorted(extra_splits.items()):
                check_split_name(s)
                if s in sg:
                    del sg[s]
                sg.create_dataset(s, data=np.asarray(idx, dtype=np.int64))
    finally:
        for p in opened:
            p.close()
