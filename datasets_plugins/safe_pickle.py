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
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from kinemic_cli.errors import KinemicError

__all__ = ["DataOnlyUnpickler", "load_data_pickle"]


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
        for name in ("set", "frozenset", "list", "dict", "tuple", "bytearray", "complex"):
            table[(module, name)] = getattr(builtins, name)
    table[("_codecs", "encode")] = codecs.encode
    return table


class DataOnlyUnpickler(pickle.Unpickler):
    """``find_class`` answers only for numpy array/scalar/dtype helpers and builtin containers."""

    _ALLOWED = _allowed()

    def __init__(self, file, *, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        found = self._ALLOWED.get((module, name))
        if found is None:
            raise KinemicError(
                f"{self.source}: refused to load global {module}.{name} from the pickle "
                "(only numpy arrays and builtin containers are allowed; the file may be unsafe)"
            )
        if isinstance(found, tuple):
            return _numpy_helper(*found)
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise KinemicError(f"{self.source}: refused a persistent reference in the pickle (not plain data)")


def load_data_pickle(path: Path) -> Any:
    """Load a pickle that may hold only plain data and numpy arrays; one-line errors otherwise."""
    try:
        with open(path, "rb") as f:
            return DataOnlyUnpickler(f, source=str(path)).load()
    except FileNotFoundError:
        raise KinemicError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise KinemicError(f"{path}: is a folder, expected an annotation pickle (.pkl)") from None
    except KinemicError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, MemoryError) as exc:
        raise KinemicError(f"{path}: not a readable pickle ({type(exc).__name__}: {str(exc)[:80]})") from None
