"""YAML config files whose values command-line flags override, checked against a schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml

from .errors import KinemicError

__all__ = ["load_config_file", "save_resolved_config"]


def load_config_file(path: str | Path, allowed: Iterable[str]) -> dict[str, Any]:
    """Read a YAML mapping; keys may use ``-`` or ``_``; unknown keys are an error."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise KinemicError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise KinemicError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KinemicError(f"{path}: a config file must hold a mapping of option names to values")
    # A parameter named ``list_`` (to dodge a builtin) is the option --list: key ``list`` in a file.
    by_key = {name.rstrip("_"): name for name in allowed}
    out = {}
    for key, value in data.items():
        norm = str(key).replace("-", "_")
        if norm not in by_key:
            known = ", ".join(sorted(k.replace("_", "-") for k in by_key))
            raise KinemicError(f"{path}: unknown config key {key!r}; known: {known}")
        out[by_key[norm]] = value
    return out


def save_resolved_config(path: str | Path, config: dict) -> None:
    """Write the config a run actually used (atomically) beside its outputs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
    tmp.replace(path)
