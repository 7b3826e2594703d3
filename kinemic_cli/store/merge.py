"""Merge collections (e.g. the shards of a sharded ``generate``) into one.

With ``order="sample_id"`` clips are sorted by sample id, so the union of shards equals
the unsharded run whatever the shard layout; splits are carried over by sample id.
"""

from __future__ import annotations

from ..errors import KinemicError
from ..runtime.progress import progress_task
from ..runtime.provenance import collect_provenance
from .collection import Collection
from .index import MotionStore

__all__ = ["merge_collections"]

#: sampling options a generated collection records only when used, so collections made before
#: an option existed still resume and merge with runs that leave it off
OPTIONAL_GENERATION_SETTINGS = ("guidance_above", "shot_guidance", "shot_guidance_above", "smooth")
#: settings a generated collection records that decide its numbers; shards of one run share them
GENERATION_SETTINGS = ("generator", "sampler", "steps", "guidance", "precision", "compute_rows", "from_shots",
                       *OPTIONAL_GENERATION_SETTINGS)


def merge_collections(store: MotionStore, sources: list[str], into: str, *, order: str = "sample_id",
                      overwrite: bool = False) -> Collection:
    if order not in ("sample_id", "concat"):
        raise KinemicError(f"--order must be sample_id or concat, got {order!r}")
    if not sources:
        raise KinemicError("nothing to merge: name at least one collection")
    if into in sources:
        raise KinemicError(f"cannot merge into {into!r}: it is one of the sources")
    colls = [store.collection(s) for s in sources]
    try:
        first = colls[0]
        for c in colls[1:]:
            if c.skeleton != first.skeleton or c.class_names != first.class_names or c.persons != first.persons:
                raise KinemicError(
                    f"cannot merge {c.name!r} with {first.name!r}: skeleton, class names or persons differ"
                )
            if c.attrs.get("fewshot") != first.attrs.get("fewshot"):
                raise KinemicError(f"cannot merge {c.name!r} with {first.name!r}: they were generated from "
                                   "different few-shot splits")
            differ = [k for k in GENERATION_SETTINGS if c.attrs.get(k) != first.attrs.get(k)]
            if differ:
                raise KinemicError(f"cannot merge {c.name!r} with {first.name!r}: generated with different "
                                   f"{', '.join(differ)} (shards of one run share them)")
        entries = [(str(c.sample_ids[i]), k, i) for k, c in enumerate(colls) for i in range(len(c))]
        if order == "sample_id":
            entries.sort(key=lambda e: e[0])
        ids = [e[0] for e in entries]
        if len(set(ids)) != len(ids):
            dup = next(x for x in ids if ids.count(x) > 1)
            raise KinemicError(f"sample id {dup!r} appears in more than one source; refusing to merge duplicates")
        writer = store.writer(into, skeleton=first.skeleton, fps=first.fps, class_names=first.class_names,
                              kind=first.kind, persons=first.persons, attrs=first.attrs, overwrite=overwrite)
        try:
            with progress_task(f"merge into {into}", len(entries)) as bar:
                split_members: dict[str, set] = {}
                for c in colls:
                    for s in c.split_names():
                        split_members.setdefault(s, set()).update(str(c.sample_ids[i]) for i in c.split(s))
                for sid, k, i in entries:
                    clip = colls[k].clip(i)
                    clip.splits = tuple(s for s, members in split_members.items() if sid in members)
                    writer.add(clip)
                    bar.advance()
            provenance = collect_provenance("store merge", {"sources": sources, "order": order},
                                            inputs=[str(c.path) for c in colls],
                                            source_provenance={c.name: c.provenance for c in colls})
            return writer.commit(provenance)
        except BaseException:
            writer.abort()
            raise
    finally:
        for c in colls:
            c.close()
