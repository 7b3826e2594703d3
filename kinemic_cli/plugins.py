"""Dataset adapters: the plugin API and their discovery through entry points.

A dataset adapter turns files on disk (or a procedural world) into a stream of
:class:`~kinemic_cli.clip.Clip` objects plus the facts about them (:class:`DatasetInfo`).
Adapters are found in the entry-point group ``kinemic.datasets``; the built-in ones
register there exactly as a third-party package does::

    [project.entry-points."kinemic.datasets"]
    my-mocap = "my_package.adapter:MyMocapAdapter"

An adapter that fails to import becomes a warning in ``kinemic prepare --list``, never a
crash of the whole tool; asking for an unknown name gives the list of installed ones.
Adapters import only this module, :mod:`kinemic_cli.clip` and :mod:`kinemic_cli.skeletons`.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import ClassVar, Iterable, Union

from .clip import Caption, Clip, SkippedItem
from .errors import KinemicError
from .skeletons import Skeleton

__all__ = [
    "ENTRY_POINT_GROUP",
    "Caption",
    "Clip",
    "SkippedItem",
    "PrepareRequest",
    "DatasetInfo",
    "DatasetStream",
    "DatasetAdapter",
    "AdapterEntry",
    "list_adapters",
    "load_adapter",
]

ENTRY_POINT_GROUP = "kinemic.datasets"


@dataclass
class PrepareRequest:
    """What the user asked ``kinemic prepare`` for; adapters read the fields they support.

    ``options`` carries adapter-specific ``--option key=value`` pairs; an adapter lists the
    keys it accepts in :attr:`DatasetAdapter.option_keys` and unknown keys are refused
    before it runs, so a typo never passes silently.
    """

    root: Path | None = None
    persons: int | None = None
    classes: list[str] | None = None
    skeleton: str | None = None
    skeleton_file: Path | None = None
    seed: int = 0
    workers: int = 1
    limit: int | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInfo:
    """Facts shared by every clip of a prepared collection."""

    skeleton: Skeleton
    fps: float
    class_names: list[str]
    kind: str = "har"  # "har": labelled action clips; "t2m": captioned motion corpus
    persons: int = 1
    attrs: dict = field(default_factory=dict)  # protocol facts, e.g. {"protocols": ["xsub"]}


@dataclass
class DatasetStream:
    """An adapter's answer: the info, the expected item count (for progress) and the items.

    ``excluded`` counts inputs left out *by the rules of the release*, not because they are
    broken (clips on an official missing-skeleton list, videos marked ``has_skeleton:
    false``, classes not asked for): they are reported, but never fail ``--on-error fail``.
    ``warnings`` collects one line per oddity that did not cost a clip (a label that
    disagrees between two files); the adapter may append to it while ``items`` runs.
    """

    info: DatasetInfo
    total: int | None
    items: Iterable[Union[Clip, SkippedItem]]
    inputs: list[str] = field(default_factory=list)  # input files/folders, recorded as provenance
    excluded: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class DatasetAdapter:
    """Base class of dataset adapters.

    Subclasses set :attr:`description` (one line for ``--list``), :attr:`needs_root`, the
    accepted :attr:`option_keys`, and implement :meth:`open`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needs_root: ClassVar[bool] = True
    option_keys: ClassVar[tuple[str, ...]] = ()

    def open(self, request: PrepareRequest) -> DatasetStream:  # pragma: no cover - interface
        raise NotImplementedError

    def check_request(self, request: PrepareRequest) -> None:
        """Refuse unknown options and a missing root before any work is done."""
        unknown = sorted(set(request.options) - set(self.option_keys))
        if unknown:
            accepted = ", ".join(self.option_keys) or "none"
            raise KinemicError(f"dataset {self.name!r} does not accept option(s) {unknown}; accepted: {accepted}")
        if self.needs_root:
            if request.root is None:
                raise KinemicError(f"dataset {self.name!r} needs --root (the folder or file of the release)")
            if not Path(request.root).exists():
                raise KinemicError(f"{request.root}: root not found")


@dataclass(frozen=True)
class AdapterEntry:
    name: str
    description: str
    distribution: str
    value: str
    error: str | None = None


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def _distribution_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "?"


def list_adapters() -> list[AdapterEntry]:
    """Every installed adapter, loaded to read its description (broken ones carry ``error``)."""
    out = []
    for name, ep in sorted(_entry_points().items()):
        try:
            cls = ep.load()
            out.append(AdapterEntry(name, cls.description, _distribution_name(ep), ep.value))
        except Exception as exc:  # a broken plugin must not take the tool down
            warnings.warn(f"dataset plugin {name!r} ({ep.value}) failed to load: {exc}", stacklevel=2)
            out.append(AdapterEntry(name, "", _distribution_name(ep), ep.value, error=f"{type(exc).__name__}: {exc}"))
    return out


def load_adapter(name: str) -> DatasetAdapter:
    eps = _entry_points()
    if name not in eps:
        raise KinemicError(f"unknown dataset {name!r}; installed: {', '.join(sorted(eps)) or 'none'}")
    try:
        cls = eps[name].load()
    except Exception as exc:
        raise KinemicError(f"dataset plugin {name!r} ({eps[name].value}) failed to load: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, DatasetAdapter)):
        raise KinemicError(f"dataset plugin {name!r} ({eps[name].value}) is not a DatasetAdapter subclass")
    adapter = cls()
    adapter.name = name
    return adapter
