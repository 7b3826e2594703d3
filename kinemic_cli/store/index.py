"""The HDF5 motion store: many collections of ragged clips, safe against kill -9 and races.

Layout on disk for a store ``kinemic.h5``::

    kinemic.h5            small index: format attrs, one external link per collection,
                          splits added after a collection was written (few-shot splits)
    kinemic.h5.d/         one immutable HDF5 file per complete collection
        ntu60.h5
        gen-x.partial/    a collection being written: parts, each renamed when complete
    kinemic.h5.lock       advisory lock (flock) that serialises every change to the index

Why this shape: a collection file is written under a temporary name and renamed into
place only when complete, and the index is replaced atomically (copy, modify, fsync,
rename) while the lock is held.  A process killed at any moment therefore leaves either
the old index or the new one, never a half-written collection that looks complete; the
``.partial`` folder of an interrupted writer holds whole parts that ``resume`` picks up.
Readers open complete files read-only and never need the lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import h5py
import numpy as np

from ..errors import KinemicError
from ..runtime.atomic import atomic_output, fsync_folder, stray_temporary_files
from .names import FORMAT_VERSION, check_split_name

if TYPE_CHECKING:
    from .collection import Collection, CollectionInfo
    from .writer import CollectionWriter

__all__ = ["MotionStore", "default_store_path"]



def default_store_path() -> Path:
    """``$KINEMIC_STORE`` or ``kinemic.h5`` in the working folder."""
    return Path(os.environ.get("KINEMIC_STORE", "kinemic.h5"))


class MotionStore:
    """A folder-backed HDF5 store.  Cheap to construct; nothing is created until a write."""

    def __init__(self, path: str | Path | None = None, *, lock_timeout: float = 120.0):
        self.path = Path(path) if path is not None else default_store_path()
        self.data_dir = self.path.with_name(self.path.name + ".d")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout

    # ------------------------------------------------------------------ locking
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive advisory lock serialising index changes between processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.lock_timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise KinemicError(
                            f"{self.path}: another process holds the store lock {self.lock_path} "
                            f"for more than {self.lock_timeout:.0f}s; try again later"
                        ) from None
                    time.sleep(0.05)
            self.remove_stray_temporaries()
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def stray_temporaries(self) -> list[Path]:
        """Temporary files of writers that died mid-write (a kill during a commit leaves one)."""
        mine = [p for p in stray_temporary_files(self.path.parent) if p.name.startswith(f".{self.path.name}.")]
        return mine + stray_temporary_files(self.data_dir)

    def remove_stray_temporaries(self) -> list[Path]:
        """Delete :meth:`stray_temporaries` (done under the lock by every change of the store)."""
        removed = []
        for path in self.stray_temporaries():
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
        return removed

    # ------------------------------------------------------------------ index
    def exists(self) -> bool:
        return self.path.exists()

    def _open_index(self) -> h5py.File:
        if not self.path.exists():
            raise KinemicError(f"{self.path}: no motion store here (create one with `kinemic prepare`)")
        try:
            f = h5py.File(self.path, "r")
        except OSError:
            raise KinemicError(f"{self.path}: not a readable HDF5 file (corrupt, or not a kinemic store)") from None
        if "kinemic_store" not in f.attrs:
            f.close()
            raise KinemicError(f"{self.path}: an HDF5 file but not a kinemic store (no 'kinemic_store' attribute)")
        version = int(f.attrs["kinemic_store"])
        if version > FORMAT_VERSION:
            f.close()
            raise KinemicError(f"{self.path}: store format {version} is newer than this kinemic ({FORMAT_VERSION})")
        return f

    def validate(self) -> None:
        """Raise a one-line :class:`KinemicError` if the path is not a readable store."""
        self._open_index().close()

    def collection_file(self, name: str) -> Path:
        return self.data_dir / f"{name}.h5"

    def list(self) -> list[str]:
        if not self.path.exists():
            return []
        with self._open_index() as f:
            return sorted(f["collections"].keys()) if "collections" in f else []

    def has(self, name: str) -> bool:
        return name in self.list()

    def incomplete(self) -> list[str]:
        """Names of collections whose writer was interrupted (a ``.partial`` folder remains)."""
        if not self.data_dir.exists():
            return []
        return sorted(p.name[: -len(".partial")] for p in self.data_dir.glob("*.partial") if p.is_dir())

    @contextmanager
    def _edit_index(self) -> Iterator[h5py.File]:
        """Copy the index, let the caller modify the copy, then atomically replace it.

        Must be called with :meth:`lock` held.
        """
        if self.path.exists():
            self._open_index().close()  # refuse to touch something that is not a store
        with atomic_output(self.path) as tmp:
            mode = "w"
            if self.path.exists():
                shutil.copyfile(self.path, tmp)
                mode = "r+"
            with h5py.File(tmp, mode) as f:
                if mode == "w":
                    f.attrs["kinemic_store"] = FORMAT_VERSION
                    f.create_group("collections")
                    f.create_group("splits")
                yield f

    # ------------------------------------------------------------------ collections
    def collection(self, name: str) -> "Collection":
        self.validate()
        if name not in self.list():
            known = ", ".join(self.list()) or "none"
            extra = f" ({name} is incomplete: re-run the command that writes it)" if name in self.incomplete() else ""
            raise KinemicError(f"{self.path}: no collection {name!r}{extra}; collections: {known}")
        from .collection import Collection

        return Collection(self, name)

    def info(self, name: str) -> CollectionInfo:
        return self.collection(name).info()

    def writer(self, name: str, **kwargs) -> "CollectionWriter":
        from .writer import CollectionWriter

        return CollectionWriter(self, name, **kwargs)

    def remove(self, name: str) -> None:
        with self.lock():
            if name not in self.list():
                raise KinemicError(f"{self.path}: no collection {name!r}")
            with self._edit_index() as f:
                del f["collections"][name]
                if name in f["splits"]:
                    del f["splits"][name]
            self.collection_file(name).unlink(missing_ok=True)

    def discard_partial(self, name: str) -> None:
        shutil.rmtree(self.data_dir / f"{name}.partial", ignore_errors=True)

    def install(self, name: str, tmp_file: Path, *, overwrite: bool) -> None:
        """Move a complete collection file into place and link it from the index."""
        with self.lock():
            exists = name in self.list()
            if exists and not overwrite:
                raise KinemicError(f"{self.path}: collection {name!r} already exists (use --overwrite to replace it)")
            final = self.collection_file(name)
            os.replace(tmp_file, final)
            fsync_folder(final.parent)
            with self._edit_index() as f:
                if name in f["collections"]:
                    del f["collections"][name]
                f["collections"][name] = h5py.ExternalLink(f"{self.data_dir.name}/{final.name}", "/")
                if name in f["splits"]:
                    del f["splits"][name]

    def add_split(self, collection: str, split: str, indices: np.ndarray, *, overwrite: bool = False) -> None:
        """Store a split (clip indices) beside a complete collection, without rewriting it."""
        check_split_name(split)
        coll = self.collection(collection)
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(coll)):
            raise KinemicError(f"split {split!r}: indices out of range for {collection!r} ({len(coll)} clips)")
        if split in coll.split_names() and not overwrite:
            existing = coll.split(split)
            if np.array_equal(existing, indices):
                return
            raise KinemicError(f"collection {collection!r} already has a different split {split!r}")
        with self.lock():
            with self._edit_index() as f:
                path = f"splits/{collection}/{split}"
                if path in f:
                    del f[path]
                f.create_dataset(path, data=indices)

    def index_splits(self, collection: str) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._open_index() as f:
            if f"splits/{collection}" not in f:
                return out
            grp = f[f"splits/{collection}"]

            def visit(path: str, obj) -> None:
                if isinstance(obj, h5py.Dataset):
                    out[path] = obj[()]

            grp.visititems(visit)
        return out

    def cache_path(self, name: str) -> Path:
        """A private file in the store folder for caches (e.g. text embeddings)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / f"_{name}.h5"

