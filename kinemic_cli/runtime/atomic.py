"""The one way kinemic writes a file: under a unique temporary name, fsynced, then renamed.

A reader (or a command re-run after ``kill -9``) therefore sees either the old file or
the complete new one, never a torn one.  Every writer in the project goes through
:func:`atomic_output` (or its text/bytes shorthands), so the guarantee is the same
everywhere:

- the temporary file sits beside the target (same file system, so the rename is atomic)
  and is named ``.<name>.tmp-<pid>-<random>``: two writers never share it, and a
  leftover of a dead writer names the process that made it (:func:`stray_temporary_files`);
- its contents are fsynced before the rename, and the folder after it, so the new name
  survives a power cut too;
- the new file gets the permissions of the file it replaces, or the usual ones for a new
  file (``0666`` less the umask): some writers (safetensors) create owner-only files,
  which would lock a shared lab store or run folder away from the rest of the team;
- on any error the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_output", "atomic_write_text", "atomic_write_bytes", "fsync_path", "fsync_folder",
           "temporary_name", "stray_temporary_files", "TEMPORARY_MARK"]

TEMPORARY_MARK = ".tmp-"
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]{8}$")


def temporary_name(path: str | Path) -> Path:
    """A fresh temporary path beside ``path`` (``.<name>.tmp-<pid>-<random>``)."""
    path = Path(path)
    return path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def _process_umask() -> int:
    """The process umask, read without changing it where ``/proc`` allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _settle_permissions(tmp: Path, target: Path) -> None:
    """Give a finished temporary file the mode the target had, or a new file's usual mode."""
    if not tmp.is_file():
        return
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_process_umask()
    os.chmod(tmp, mode)


def fsync_path(path: str | Path) -> None:
    """Flush a file's (or a folder's) contents to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(path: str | Path) -> None:
    """Flush a folder entry (a rename inside it), where the platform allows it."""
    try:
        fsync_path(path)
    except OSError:  # some file systems refuse to fsync a directory; the rename is still atomic
        pass


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new contents to; install it atomically on success.

    The caller writes (and closes) the temporary file however it likes (``open``, h5py,
    safetensors), or makes it a folder and fills it; on leaving the block without an
    error it is fsynced and renamed over ``path`` (a folder may replace an empty folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        _settle_permissions(tmp, path)
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_folder(path.parent)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def stray_temporary_files(folder: str | Path) -> list[Path]:
    """Temporary files in ``folder`` left by writers that are no longer running (safe to delete)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for entry in folder.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and int(match["pid"]) != os.getpid() and not _alive(int(match["pid"])):
            out.append(entry)
    return sorted(out)
