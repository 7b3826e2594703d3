"""A restricted unpickler for annotation pickles (pyskl / mmaction2): data in, never code.

``pickle.load`` on a user's file runs whatever callable the file names (``os.system``
included).  :class:`DataOnlyUnpickler` resolves only the globals that numpy arrays,
numpy scalars and dtypes need to be rebuilt, plus builtin containers, and refuses every
other global with a :class:`KinemicError` naming the file and the refused global.

The numpy helpers are named ``numpy.core.*`` in pickles written by numpy 1.x and
``numpy._core.*`` by numpy 2.x; both spellings map to the installed numpy's functions, so
files of either era load under either numpy.  Python 2 / protocol-2 spellings
(``__builtin__``, ``_codecs.encode`` for bytes) are accepted for the same reason.
"""

from __future__ import annotations

import builtins
import codecs
import importlib
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from kinemic_cli.errors import KinemicError

__all__ = ["DataOnlyUnpickler", "load_data_pickle"]


def _array_bytes(shape_and_dtype: tuple) -> int:
    """Bytes of an array ``_reconstruct(cls, shape, dtype)`` would allocate (before its data is set)."""
    try:
        shape, dtype = shape_and_dtype
        count = 1
        for n in (shape if isinstance(shape, (tuple, list)) else (shape,)):
            count *= max(int(n), 0)
        return count * max(np.dtype(dtype).itemsize, 1)
    except (TypeError, ValueError):
        return 0


def _numpy_helper(submodule: str, name: str) -> Any:
    for prefix in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{prefix}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise KinemicError(f"this numpy has no {submodule}.{name}")


def _allowed() -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for prefix in ("numpy.core", "numpy._core"):
        table[(f"{prefix}.multiarray", "_reconstruct")] = ("multiarray", "_reconstruct")
        table[(f"{prefix}.multiarray", "scalar")] = ("multiarray", "scalar")
        table[(f"{prefix}.numeric", "_frombuffer")] = ("numeric", "_frombuffer")
    for module in ("builtins", "__builtin__"):
        for name in ("set", "frozenset", "list", "dict", "tuple", "complex"):
            table[(module, name)] = getattr(builtins, name)
        table[(module, "bytearray")] = "bytearray"  # sized by the file (see _sized)
    table[("_codecs", "encode")] = codecs.encode
    return table


class DataOnlyUnpickler(pickle.Unpickler):
    """``find_class`` answers only for numpy array/scalar/dtype helpers and builtin containers."""

    _ALLOWED = _allowed()

    def __init__(self, file, *, source: str, budget: int | None = None):
        super().__init__(file)
        self.source = source
        # nothing in a data pickle is bigger than the file (arrays carry their bytes);
        # a 20-byte file asking for bytearray(10**9) or an array of 10**9 elements is a bomb
        self.budget = budget

    def find_class(self, module: str, name: str) -> Any:
        found = self._ALLOWED.get((module, name))
        if found is None:
            raise KinemicError(
                f"{self.source}: refused to load global {module}.{name} from the pickle "
                "(only numpy arrays and builtin containers are allowed; the file may be unsafe)"
            )
        if found == "bytearray":
            return self._sized(bytearray, lambda args: args[0] if args and isinstance(args[0], int) else 0)
        if isinstance(found, tuple):
            helper = _numpy_helper(*found)
            if found == ("multiarray", "_reconstruct"):
                return self._sized(helper, lambda args: _array_bytes(args[1:3]))
            return helper
        return found

    def _sized(self, make, size_of):
        """``make`` refusing to build anything larger than the file it comes from."""
        def guarded(*args):
            size = size_of(args)
            if self.budget is not None and size > self.budget:
                raise KinemicError(f"{self.source}: the pickle asks for {size:,} bytes, more than the file's "
                                   f"{self.budget:,} (not plain data)")
            return make(*args)
        return guarded

    def persistent_load(self, pid: Any) -> Any:
        raise KinemicError(f"{self.source}: refused a persistent reference in the pickle (not plain data)")


def load_data_pickle(path: Path) -> Any:
    """Load a pickle that may hold only plain data and numpy arrays; one-line errors otherwise."""
    try:
        with open(path, "rb") as f:
            budget = max(os.fstat(f.fileno()).st_size, 1 << 16)
            return DataOnlyUnpickler(f, source=str(path), budget=budget).load()
    except FileNotFoundError:
        raise KinemicError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise KinemicError(f"{path}: is a folder, expected an annotation pickle (.pkl)") from None
    except KinemicError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, MemoryError, OverflowError, RecursionError) as exc:
        raise KinemicError(f"{path}: not a readable pickle ({type(exc).__name__}: {str(exc)[:80]})") from None
