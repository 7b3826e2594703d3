"""``kinemic render``: draw clips of a collection as a GIF grid, PNG contact sheet or MP4."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ._common import JsonOpt, StoreOpt, command, emit, open_store


@command
def render(
    collection: Annotated[str, typer.Option("--collection", help="Collection to draw from.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .gif (animation), .png (contact sheet) or .mp4.")],
    index: Annotated[Optional[List[int]], typer.Option("--index", help="Clip index (repeatable).")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Draw from this split only.")] = None,
    per_class: Annotated[Optional[int], typer.Option("--per-class", help="This many clips of each class.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many clips (default: 12, or all of --per-class).")] = None,
    yaw: Annotated[float, typer.Option("--yaw", help="Camera yaw in degrees for 3D skeletons.")] = 30.0,
    store: StoreOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Render clips as stick figures with the skeleton's bones."""
    from ..motion.render import pick_clip_indices, render_clips

    st = open_store(store)
    with st.collection(collection) as coll:
        pool = coll.split(split) if split else None
        chosen = pick_clip_indices(coll.labels, indices=index, pool=pool, per_class=per_class, limit=limit)
        clips = [coll.frames(i) for i in chosen]
        titles = [
            coll.class_names[coll.labels[i]] if 0 <= coll.labels[i] < len(coll.class_names) else str(coll.sample_ids[i])
            for i in chosen
        ]
        path = render_clips(clips, coll.skeleton, out, titles=titles, yaw=yaw)
    emit({"out": str(path), "clips": chosen}, json_output, f"wrote {path} ({len(chosen)} clips)")
