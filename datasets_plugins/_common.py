"""Request checks shared by the file-based adapters: persons, classes, options, fixed skeletons.

Each check fails before any file is read, with one line naming the option and the problem,
so a typo in ``--classes`` never costs a pass over 100,000 files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest

__all__ = ["norm_name", "select_classes", "check_persons", "refuse_skeleton_options", "int_option", "workers_of",
           "inside_root", "unexpected"]


def norm_name(name: str) -> str:
    """Case, ``_``/``-`` and repeated spaces do not matter when a user names a class."""
    return " ".join(str(name).replace("_", " ").lower().split())


def select_classes(names: list[str], wanted: list[str] | None, *, dataset: str,
                   aliases: Mapping[str, int] | None = None) -> list[int]:
    """Indices into ``names`` in the order asked for.

    An item is a 0-based class index (the label stored for it), a class name (any case),
    or a dataset alias (``A050`` for NTU).  Unknown or repeated items are refused.
    """
    if not wanted:
        return list(range(len(names)))
    by_name = {norm_name(n): i for i, n in enumerate(names)}
    by_alias = {norm_name(k): v for k, v in (aliases or {}).items()}
    out: list[int] = []
    for item in wanted:
        key = norm_name(item)
        if key.isdigit():
            idx = int(key)
            if idx >= len(names):
                raise KinemicError(f"--classes: {dataset} has {len(names)} classes (0..{len(names) - 1}), got {item!r}")
        elif key in by_alias:
            idx = by_alias[key]
        elif key in by_name:
            idx = by_name[key]
        else:
            raise KinemicError(f"--classes: {dataset} has no class {item!r} (use a 0-based index or a name; "
                               f"e.g. {names[0]!r})")
        if idx in out:
            raise KinemicError(f"--classes: class {names[idx]!r} asked for twice")
        out.append(idx)
    return out


def check_persons(request: PrepareRequest, *, dataset: str, default: int, maximum: int) -> int:
    persons = default if request.persons is None else int(request.persons)
    if not 1 <= persons <= maximum:
        raise KinemicError(f"--persons: {dataset} keeps 1 to {maximum} bodies per clip, got {persons}")
    return persons


def refuse_skeleton_options(request: PrepareRequest, *, dataset: str, skeleton: str) -> None:
    if request.skeleton or request.skeleton_file:
        raise KinemicError(f"--skeleton/--skeleton-file do not apply to {dataset} (its files are {skeleton}); "
                           "use --to-skeleton to convert")


def int_option(request: PrepareRequest, key: str, default: int, *, minimum: int = 0) -> int:
    raw = request.options.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise KinemicError(f"--option {key}= expects an integer, got {raw!r}") from None
    if value < minimum:
        raise KinemicError(f"--option {key}= must be at least {minimum}, got {value}")
    return value


def workers_of(request: PrepareRequest) -> int:
    workers = int(request.workers or 1)
    if workers < 1:
        raise KinemicError(f"--workers must be at least 1, got {workers}")
    return workers


def unexpected(path: str, exc: BaseException):
    """A file that broke a reader in a way nobody foresaw costs that file, never the run (reported)."""
    from kinemic_cli.plugins import SkippedItem

    return SkippedItem(str(path), "unreadable", f"{type(exc).__name__}: {str(exc)[:100]}")


def inside_root(root: Path, relative: str, *, suffix: str = "") -> Path | None:
    """``root / relative + suffix`` when it stays inside ``root``; None for ``../x``, absolute paths, NUL bytes.

    Names read from a release's own files (side-file keys, split lists, ``labels.csv``)
    are data, not permission to open any file on the machine.
    """
    text = str(relative)
    if not text or "\0" in text or os.path.isabs(text) or "\\" in text:
        return None
    candidate = Path(root) / f"{text}{suffix}"
    try:
        resolved, base = candidate.resolve(), Path(root).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if resolved != base and base not in resolved.parents:
        return None
    return candidate
