"""``kinemic store ls|info|rm|merge|export``: look after the motion store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table

from ..errors import KinemicError
from ._common import JsonOpt, StoreOpt, command, emit, open_store

app = typer.Typer(help="List, inspect, remove, merge and export collections of the motion store.", no_args_is_help=True)


@app.command("ls")
@command
def ls(store: StoreOpt = None, json_output: JsonOpt = False) -> None:
    """List the collections (and interrupted writes) of a store."""
    st = open_store(store)
    rows = []
    for name in st.list():
        with st.collection(name) as coll:
            rows.append(coll.info().as_dict())
    incomplete = st.incomplete()
    strays = [str(p) for p in st.stray_temporaries()]

    def human(console) -> None:
        table = Table(title=str(st.path))
        for col in ("collection", "clips", "frames", "skeleton", "kind", "classes", "size MB"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["name"], str(r["num_clips"]), str(r["num_frames"]), r["skeleton"], r["kind"],
                          str(r["num_classes"]), f"{r['size_bytes'] / 1e6:.1f}")
        for name in incomplete:
            table.add_row(name, "-", "-", "-", "[yellow]incomplete[/]", "-", "-")
        console.print(table)
        if strays:
            console.print(f"{len(strays)} temporary files of interrupted writers (removed by the next change of "
                          "the store): " + ", ".join(strays[:5]), highlight=False)

    if not st.exists() and not json_output:
        raise KinemicError(f"{st.path}: no motion store here (create one with `kinemic prepare`)")
    emit({"store": str(st.path), "collections": rows, "incomplete": incomplete, "stray_temporaries": strays},
         json_output, human)


@app.command("info")
@command
def info(
    name: Annotated[str, typer.Argument(help="Collection name.")],
    store: StoreOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Show one collection: counts, skeleton, classes, splits and provenance."""
    st = open_store(store)
    with st.collection(name) as coll:
        data = coll.info().as_dict()
        data["class_names"] = coll.class_names
        data["split_sizes"] = {s: int(len(coll.split(s))) for s in coll.split_names()}
        data["fields"] = coll.meta_fields()
        data["frame_data"] = coll.frame_data_names()
        data["persons"] = coll.persons
        data["attrs"] = coll.attrs
        data["provenance"] = coll.provenance

    def human(console) -> None:
        table = Table(show_header=False, title=f"{name} ({data['path']})")
        for key in ("num_clips", "num_frames", "skeleton", "fps", "kind", "persons", "num_classes"):
            table.add_row(key, str(data[key]))
        table.add_row("classes", ", ".join(data["class_names"][:20]) + (" ..." if len(data["class_names"]) > 20 else ""))
        for s, n in data["split_sizes"].items():
            table.add_row(f"split {s}", str(n))
        table.add_row("fields", ", ".join(data["fields"]))
        prov = data["provenance"]
        table.add_row("made by", f"{prov.get('command', '?')} at {prov.get('time', '?')}")
        console.print(table)

    emit(data, json_output, human)


@app.command("rm")
@command
def rm(
    names: Annotated[List[str], typer.Argument(help="Collection name(s) to remove.")],
    store: StoreOpt = None,
    partial: Annotated[bool, typer.Option("--partial", help="Remove interrupted (incomplete) writes of these names instead.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Remove collections (their files are deleted)."""
    st = open_store(store)
    for name in names:
        if partial:
            if name not in st.incomplete():
                raise KinemicError(f"{st.path}: no incomplete write named {name!r}")
            st.discard_partial(name)
        else:
            st.remove(name)
    emit({"removed": names}, json_output, f"removed {', '.join(names)}")


@app.command("merge")
@command
def merge(
    sources: Annotated[List[str], typer.Argument(help="Collections to merge (e.g. the shards of a generate run).")],
    into: Annotated[str, typer.Option("--into", help="Name of the merged collection.")],
    store: StoreOpt = None,
    order: Annotated[str, typer.Option("--order", help="sample_id (sorted, shard layout does not matter) or concat.")] = "sample_id",
    remove_sources: Annotated[bool, typer.Option("--remove-sources", help="Delete the sources after a successful merge.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing collection of that name.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Merge collections of one skeleton and class list into a new collection."""
    from ..store.merge import merge_collections

    st = open_store(store)
    coll = merge_collections(st, sources, into, order=order, overwrite=overwrite)
    n = len(coll)
    coll.close()
    if remove_sources:
        for s in sources:
            st.remove(s)
    emit({"collection": into, "clips": n, "sources": sources}, json_output, f"merged {len(sources)} collections into {into} ({n} clips)")


@app.command("export")
@command
def export(
    name: Annotated[str, typer.Argument(help="Collection to export.")],
    fmt: Annotated[str, typer.Option("--format", help="pyskl (annotation .pkl for pyskl/mmaction2) or npy (folder for `prepare --dataset custom`).")],
    out: Annotated[Path, typer.Option("--out", help="Output .pkl file (pyskl) or new folder (npy).")],
    split: Annotated[Optional[str], typer.Option("--split", help="Export only the clips of this split (e.g. xsub/train).")] = None,
    store: StoreOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing .pkl (a folder is never replaced).")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Export a collection for pyskl/mmaction2 (--format pyskl) or as .npy clips + labels.csv (--format npy)."""
    from ..store.export import export_collection

    st = open_store(store)
    with st.collection(name) as coll:
        report = export_collection(coll, fmt, out, split=split, overwrite=overwrite)
    emit(report.as_dict(), json_output, f"exported {report.clips} clips of {name} to {report.out} ({report.format})")
