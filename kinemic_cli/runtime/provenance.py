"""What every run records about itself: command, resolved config, inputs, seed, versions."""

from __future__ import annotations

import hashlib
import platform
import socket
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["collect_provenance", "file_sha256", "package_versions"]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("kinemic", "torch", "numpy", "h5py", "sentence-transformers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def collect_provenance(command: str, config: dict | None = None, *, inputs: list[str] | None = None,
                       seed: int | None = None, **extra) -> dict:
    """A JSON-able record stored with collections, checkpoints and results."""
    return {
        "command": command,
        # the program's name, not where this machine installed it
        "argv": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else [],
        "config": config or {},
        "inputs": list(inputs or []),
        "seed": seed,
        "versions": package_versions(),
        "host": socket.gethostname(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **extra,
    }
