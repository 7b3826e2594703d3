"""YAML files users write (option files, class captions, counts, skeletons) and the config a run saves.

:func:`read_yaml` is the one YAML reader: ``safe_load`` only (a file can never build a
Python object), and every way a file can be wrong is one line naming the file.
:func:`save_resolved_config` writes the config a run actually used, atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import KinemicError
from .atomic import atomic_write_text

__all__ = ["read_yaml", "read_yaml_mapping", "save_resolved_config"]


def read_yaml(path: str | Path, *, what: str = "file") -> Any:
    """The parsed contents of a YAML file (``None`` for an empty one); ``what`` names it in errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise KinemicError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise KinemicError(f"{path}: {what} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise KinemicError(f"{path}: {what} is not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KinemicError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def read_yaml_mapping(path: str | Path, *, what: str = "file") -> dict:
    """A YAML file that must hold a mapping (an empty file is an empty mapping)."""
    data = read_yaml(path, what=what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KinemicError(f"{path}: a {what} must hold a mapping, got {type(data).__name__}")
    return data


def save_resolved_config(path: str | Path, config: dict) -> None:
    """Write the config a run actually used (atomically) beside its outputs."""
    atomic_write_text(path, json.dumps(config, indent=2, sort_keys=True, default=str))
