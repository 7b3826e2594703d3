"""Names in the store: collection and split names, and the file format version.

Names become file names and HDF5 paths, so they are checked at the door: letters, digits
and ``_ . + -``, not starting with a dot (no hidden files, no ``..``), at most 128.
"""

from __future__ import annotations

import re

from ..errors import KinemicError

__all__ = ["FORMAT_VERSION", "check_collection_name", "check_split_name"]

FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")


def check_collection_name(name: str) -> str:
    if not _NAME.match(name):
        raise KinemicError(f"invalid collection name {name!r}: use letters, digits and _ . + - (max 128)")
    return name


def check_split_name(name: str) -> str:
    parts = name.split("/")
    if not all(_NAME.match(p) for p in parts):
        raise KinemicError(f"invalid split name {name!r}: parts of letters, digits, _ . + - joined by '/'")
    return name
