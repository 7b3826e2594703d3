"""Keep freed memory in the heap of a process that reads many files (glibc only).

Why: an array reader allocates and frees the same few MB of numpy temporaries for every
file.  By default glibc hands freed memory at the top of the heap back to the system once
more than 128 kB-1 MB lie free, and serves large arrays with fresh ``mmap`` pages; the next
file then faults those pages in again, one by one.  On a virtual machine that page churn
costs as much as a third of the parsing: the NTU array reader took 0.95 ms a file with the
defaults and 0.65 ms with the settings below (100 generated 350 kB files, one process;
the token reader, 1.7 ms, is not affected).

What: ``M_TRIM_THRESHOLD`` 64 MB (keep up to that much free at the top of the heap) and
``M_MMAP_THRESHOLD`` 32 MB (arrays below it come from the heap and are reused).  The price:
the process keeps its peak heap, at most 64 MB above what it uses, until it exits; a
``prepare`` run is one process (plus its readers) that ends when the store is written.
Settings already chosen by the user's environment (``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_MMAP_THRESHOLD_``) are left alone.  Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_heap"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 64 << 20, 32 << 20
_done = False


def keep_freed_heap() -> bool:
    """Apply the settings once per process; True when they are in effect."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)) and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES))
    return _done
