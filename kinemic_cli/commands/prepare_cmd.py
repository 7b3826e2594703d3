"""``kinemic prepare``: a dataset (real or the demo world) -> a store collection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table

from ..errors import KinemicError
from ._common import CollectionOpt, ConfigOpt, FewShotSeedOpt, JsonOpt, ProtocolOpt, StoreOpt, command, emit, open_store


def _parse_options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise KinemicError(f"--option expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _list(json_output: bool) -> None:
    from ..plugins import list_adapters

    entries = list_adapters()

    def human(console) -> None:
        table = Table(title="dataset adapters (entry-point group kinemic.datasets)")
        table.add_column("name")
        table.add_column("description")
        table.add_column("package")
        for e in entries:
            table.add_row(e.name, e.description if e.error is None else f"[red]failed to load: {e.error}[/]", e.distribution)
        console.print(table)

    emit({"datasets": [e.__dict__ for e in entries]}, json_output, human)


@command
def prepare(
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Dataset adapter name (see --list).")] = None,
    root: Annotated[Optional[Path], typer.Option("--root", help="Folder or file of the dataset release.")] = None,
    store: StoreOpt = None,
    collection: CollectionOpt = None,
    persons: Annotated[Optional[int], typer.Option("--persons", help="Bodies kept per clip (adapter default if unset).")] = None,
    classes: Annotated[Optional[str], typer.Option("--classes", help="Comma-separated classes to keep (ids or names).")] = None,
    skeleton: Annotated[Optional[str], typer.Option("--skeleton", help="Skeleton of the input files (custom data).")] = None,
    skeleton_file: Annotated[Optional[Path], typer.Option("--skeleton-file", help="YAML skeleton of the input files.")] = None,
    to_skeleton: Annotated[Optional[str], typer.Option("--to-skeleton", help="Convert clips to this skeleton via a joint map (e.g. smpl22).")] = None,
    world_seed: Annotated[int, typer.Option("--world-seed", help="Seed of a procedural dataset (the demo world): which subjects, styles and motions it makes.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Parallel reader processes (adapters that support it).")] = 1,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Read at most this many clips (quick looks).")] = None,
    option: Annotated[Optional[List[str]], typer.Option("--option", "-o", help="Adapter-specific key=value (repeatable).")] = None,
    on_error: Annotated[str, typer.Option("--on-error", help="skip: report bad files at the end; fail: stop at the first.")] = "skip",
    shots: Annotated[Optional[int], typer.Option("--shots", min=1, help="Also draw a few-shot split with this many clips per class.")] = None,
    fewshot_seed: FewShotSeedOpt = 42,
    protocol: ProtocolOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing collection of that name.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the installed dataset adapters and exit.")] = False,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Read a dataset into a collection of the motion store (and optionally draw few-shot splits)."""
    if list_:
        return _list(json_output)
    if not dataset:
        raise KinemicError("--dataset is required (see `kinemic prepare --list`)")
    from ..plugins import PrepareRequest
    from ..store.prepare import prepare_dataset
    from ..store.splits import make_fewshot_split

    request = PrepareRequest(
        root=root, persons=persons, skeleton=skeleton, skeleton_file=skeleton_file, seed=world_seed, workers=workers,
        limit=limit, options=_parse_options(option or []),
        classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
    )
    st = open_store(store)
    report = prepare_dataset(dataset, request, st, collection=collection, convert_to=to_skeleton, on_error=on_error,
                             overwrite=overwrite)
    result = report.as_dict()
    result["store"] = str(st.path)
    if shots:
        name, idx = make_fewshot_split(st, report.collection, shots=shots, seed=fewshot_seed, protocol=protocol)
        result["fewshot_split"] = {"name": name, "clips": int(len(idx))}

    def human(console) -> None:
        table = Table(title=f"prepared {report.collection} from {report.dataset} in {report.seconds:.1f}s")
        table.add_column("what")
        table.add_column("count", justify="right")
        table.add_row("clips read", str(report.clips))
        table.add_row("frames", str(report.frames))
        for reason, n in report.skipped_by_reason.items():
            table.add_row(f"skipped: {reason}", str(n))
        for reason, n in report.excluded.items():
            table.add_row(f"excluded: {reason}", str(n))
        if report.warnings:
            table.add_row("warnings", str(len(report.warnings)))
        for split, n in report.per_split.items():
            table.add_row(f"split {split}", str(n))
        if "fewshot_split" in result:
            table.add_row(f"split {result['fewshot_split']['name']}", str(result["fewshot_split"]["clips"]))
        table.add_row("classes", str(report.num_classes))
        if len(report.per_class) != report.num_classes:
            table.add_row("classes with labelled clips", str(len(report.per_class)))
        if report.per_class:
            table.add_row("clips per class", clips_per_class_range(report.per_class))
        console.print(table)
        for s in report.skipped[:50]:
            console.print(f"  skipped {s.path}: {s.reason}" + (f" ({s.detail})" if s.detail else ""), highlight=False)
        if len(report.skipped) > 50:
            console.print(f"  ... and {len(report.skipped) - 50} more (see `kinemic store info {report.collection} --json`)")
        for line in report.warnings[:20]:
            console.print(f"  warning: {line}", highlight=False)
        if len(report.warnings) > 20:
            console.print(f"  ... and {len(report.warnings) - 20} more warnings (see `kinemic store info {report.collection} --json`)")

    emit(result, json_output, human)


def clips_per_class_range(per_class: dict[str, int]) -> str:
    """``"12 (wave) .. 30 (kick)"``, or ``"144 each"`` when every class has the same count."""
    fewest = min(per_class, key=per_class.get)
    most = max(per_class, key=per_class.get)
    if per_class[fewest] == per_class[most]:
        return f"{per_class[most]} each"
    return f"{per_class[fewest]} ({fewest}) .. {per_class[most]} ({most})"


@command
def split(
    collection: Annotated[str, typer.Argument(help="Collection to draw the split from.")],
    shots: Annotated[int, typer.Option("--shots", min=1, help="Clips per class.")],
    fewshot_seed: FewShotSeedOpt = 42,
    protocol: ProtocolOpt = None,
    store: StoreOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Draw a reproducible few-shot split from the training side and store it."""
    from ..store.splits import make_fewshot_split

    st = open_store(store)
    name, idx = make_fewshot_split(st, collection, shots=shots, seed=fewshot_seed, protocol=protocol)
    emit({"collection": collection, "split": name, "clips": int(len(idx))}, json_output,
         f"{collection}: split {name} with {len(idx)} clips")
