"""Loading user ``.npy`` files safely, with a reason for every way one can be bad.

``allow_pickle=False`` always: an object array in a ``.npy`` is a pickle and could run
code.  The header is read first (:func:`npy_header`), so a folder of clips can be sized
(persons, joints) without loading any data, and a broken download is told apart from a
foreign file: ``missing file``, ``empty``, ``not an npy file``, ``truncated`` (fewer
bytes than the header promises), ``not a numeric array`` (object, string or complex
dtype), ``NaN``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["NpyFileError", "NpyHeader", "npy_header", "load_npy"]


class NpyFileError(Exception):
    def __init__(self, path: Path | str, reason: str, detail: str):
        super().__init__(f"{path}: {reason} ({detail})")
        self.path, self.reason, self.detail = str(path), reason, detail


FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int


def npy_header(path: Path) -> NpyHeader:
    """Shape and dtype from the header; checks that the file holds all the bytes it promises."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size == 0:
                raise NpyFileError(path, "empty", "0 bytes")
            try:
                major, _minor = np.lib.format.read_magic(f)
                if major == 1:
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif major in (2, 3):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"npy format version {major}")
            except (ValueError, EOFError) as exc:
                raise NpyFileError(path, "not an npy file", str(exc).splitlines()[0][:80]) from None
            offset = f.tell()
    except FileNotFoundError:
        raise NpyFileError(path, "missing file", "not found") from None
    except IsADirectoryError:
        raise NpyFileError(path, "not an npy file", "a folder") from None
    except OSError as exc:
        raise NpyFileError(path, "unreadable", exc.strerror or str(exc)) from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise NpyFileError(path, "bad file name", str(exc)[:80]) from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise NpyFileError(path, "not a numeric array", f"dtype {dtype}")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size - offset < expected:
        raise NpyFileError(path, "truncated", f"{size - offset} of {expected} data bytes")
    return NpyHeader(tuple(int(s) for s in shape), dtype, bool(fortran), offset)


def load_npy(path: Path, *, shape: tuple[int | None, ...] | None = None, what: str = "array") -> np.ndarray:
    """Load a numeric array (never a pickle); optionally check its shape (``None`` = any size)."""
    header = npy_header(path)
    if shape is not None:
        _check_shape(path, header.shape, shape, what)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise NpyFileError(path, "not an npy file", str(exc).splitlines()[0][:80]) from None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        first = np.argwhere(~np.isfinite(array))[0]
        raise NpyFileError(path, "NaN", f"non-finite value at index {tuple(int(i) for i in first)}")
    if array.dtype.kind in "fiu" and array.size and np.abs(array.astype(np.float64)).max() > FLOAT32_MAX:
        raise NpyFileError(path, "NaN", "values beyond float32 (they would become inf when stored)")
    return array


def _check_shape(path: Path, got: tuple[int, ...], want: tuple[int | None, ...], what: str) -> None:
    if len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want)):
        return
    wanted = "(" + ", ".join("T" if w is None else str(w) for w in want) + ")"
    reason = "wrong joint count" if len(got) == len(want) == 3 and got[1] != want[1] else "wrong shape"
    raise NpyFileError(path, reason, f"{what} shaped {got}, expected {wanted}")
