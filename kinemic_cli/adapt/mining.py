"""Soft-positive mining: which source motions (or parts of them) look like each target class.

Done once, before training, over text embeddings only (DESIGN section 4, step 1):

- every captioned window of the source corpus is a *candidate source motion*: a whole
  clip (its whole-clip captions) or, for partial captions with frame tags, the sub-clip
  ``[start, end)`` they describe (captions sharing a span are grouped).  A candidate's
  embedding is the mean of its L2-normalised caption embeddings;
- every target class gets one or more *class captions*: by default the template
  ``"a person {name}"`` on the class name (underscores read as spaces, lower case), or
  the user's own from a YAML file mapping class name -> caption or list of captions
  (``--class-captions``); a class's embedding is again the mean of normalised ones;
- the ``top_k`` candidates per class by cosine similarity are its soft positives.

The encoder is any callable ``texts -> [N, E] array`` (the prior's sentence-transformers
encoder in practice), so this module stays free of model loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import KinemicError
from ..runtime.config_files import read_yaml
from ..store import Collection

__all__ = [
    "DEFAULT_CLASS_CAPTION_TEMPLATE",
    "SourceCandidates",
    "MiningResult",
    "class_captions",
    "load_class_captions_file",
    "dataset_class_captions",
    "source_candidates",
    "mean_normalised",
    "soft_positive_neighbours",
    "mine_soft_positives",
]

DEFAULT_CLASS_CAPTION_TEMPLATE = "a person {name}"
TextEncoder = Callable[[Sequence[str]], np.ndarray]


def class_captions(class_names: Sequence[str], overrides: dict[str, list[str]] | None = None, *,
                   template: str = DEFAULT_CLASS_CAPTION_TEMPLATE,
                   defaults: dict[str, list[str]] | None = None) -> list[list[str]]:
    """Captions of each target class: the user's override, else the dataset's own, else the template on its name."""
    overrides, defaults = overrides or {}, defaults or {}
    unknown = sorted(set(overrides) - set(class_names))
    if unknown:
        raise KinemicError(f"class captions name unknown classes {unknown[:5]}; classes: {', '.join(class_names)}")
    out = []
    for name in class_names:
        if name in overrides:
            out.append(list(overrides[name]))
        elif defaults.get(name):
            out.append(list(defaults[name]))
        else:
            out.append([template.format(name=str(name).replace("_", " ").strip().lower())])
    return out


def dataset_class_captions(coll: Collection, shot_indices: Sequence[int]) -> dict[str, list[str]]:
    """What the target collection itself says its classes look like, for :func:`class_captions`.

    The dataset's natural captions (``attrs["class_captions"]``, e.g. the NTU adapters'
    "a person runs on the spot") or, for a captioned target (NTU-VIBE in HumanML3D's
    layout), the distinct captions of each class's shots; a caption that only repeats the
    class name says nothing and is left out.
    """
    table = coll.attrs.get("class_captions")
    if isinstance(table, dict):
        return {str(k): [str(c) for c in (v if isinstance(v, list) else [v])] for k, v in table.items()}
    out: dict[str, list[str]] = {}
    for i in shot_indices:
        name = coll.class_names[int(coll.labels[int(i)])]
        for caption in coll.captions(int(i)):
            text = caption.text.strip()
            if text and text.lower() != name.lower() and text not in out.setdefault(name, []):
                out[name].append(text)
    return {k: v for k, v in out.items() if v}


def load_class_captions_file(path: str | Path) -> dict[str, list[str]]:
    """Read ``--class-captions``: a YAML mapping class name -> caption or list of captions."""
    path = Path(path)
    data = read_yaml(path, what="class captions file")
    if not isinstance(data, dict) or not data:
        raise KinemicError(f"{path}: expected a mapping of class name -> caption or list of captions")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        captions = [value] if isinstance(value, str) else value
        if not isinstance(captions, list) or not captions or not all(isinstance(c, str) and c.strip() for c in captions):
            raise KinemicError(f"{path}: class {key!r} needs a non-empty caption or list of captions")
        out[str(key)] = [c.strip() for c in captions]
    return out


@dataclass
class SourceCandidates:
    """Captioned windows of a source collection.

    ``windows [N, 3]`` int64 rows ``(clip, start, end)``; ``caption_ids[n]`` indexes
    ``texts`` (unique caption strings) for candidate ``n``.
    """

    collection: str
    windows: np.ndarray
    caption_ids: list[list[int]]
    texts: list[str]

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def captions(self, n: int) -> list[str]:
        return [self.texts[t] for t in self.caption_ids[n]]


def source_candidates(source: Collection, *, min_frames: int = 2, indices: Sequence[int] | None = None) -> SourceCandidates:
    """Every captioned window of ``source`` (optionally only clips in ``indices``)."""
    table = source.caption_table()
    if len(table["clip"]) == 0:
        raise KinemicError(f"source collection {source.name!r} has no captions; mining needs a captioned (t2m) corpus")
    keep = np.ones(len(table["clip"]), bool) if indices is None else np.isin(table["clip"], np.asarray(indices))
    text_index: dict[str, int] = {}
    groups: dict[tuple[int, int, int], list[int]] = {}
    for clip, text, start, end in zip(table["clip"][keep], table["text"][keep], table["start"][keep], table["end"][keep]):
        length = int(source.lengths[int(clip)])
        start, end = max(0, int(start)), min(length, int(end)) if int(end) > 0 else length
        if end - start < min_frames:
            continue
        tid = text_index.setdefault(str(text), len(text_index))
        groups.setdefault((int(clip), start, end), []).append(tid)
    if not groups:
        raise KinemicError(f"source collection {source.name!r}: no captioned window of at least {min_frames} frames")
    keys = sorted(groups)
    return SourceCandidates(source.name, np.array(keys, dtype=np.int64).reshape(-1, 3),
                            [sorted(set(groups[k])) for k in keys], list(text_index))


def mean_normalised(embeddings: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """``[G, E]``: per group, the mean of its L2-normalised rows of ``embeddings [U, E]``, re-normalised."""
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    out = np.stack([unit[list(g)].mean(axis=0) for g in groups])
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def soft_positive_neighbours(class_embeddings: np.ndarray, source_embeddings: np.ndarray,
                             top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``top_k`` most similar source motions per class: ``(indices [K, k], cosine [K, k])``.

    Inputs are unit vectors ``[K, E]`` and ``[N, E]``; rows are sorted by decreasing
    similarity, ties broken by the lower index (deterministic); ``k = min(top_k, N)``.
    """
    if top_k < 1:
        raise KinemicError(f"--top-k must be at least 1, got {top_k}")
    sims = class_embeddings.astype(np.float64) @ source_embeddings.astype(np.float64).T  # [K, N]
    k = min(int(top_k), sims.shape[1])
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return order.astype(np.int64), np.take_along_axis(sims, order, axis=1).astype(np.float32)


@dataclass
class MiningResult:
    """What was mined: candidates, their caption embeddings, and the neighbours per class."""

    class_names: list[str]
    class_captions: list[list[str]]
    class_embeddings: np.ndarray          # [K, E] unit (mean of the class captions)
    class_caption_embeddings: list[np.ndarray]  # per class [C_k, E] unit (student conditioning)
    candidates: SourceCandidates
    text_embeddings: np.ndarray           # [U, E] unit, one per unique source caption
    neighbours: np.ndarray                # [K, k] indices into candidates
    similarities: np.ndarray              # [K, k]
    kinematic: np.ndarray | None = None   # [K, k] motion similarity to the class's shots (adapt.kinematic)
    weights: np.ndarray | None = None     # [K, k] 1 = drawn, 0 = gated out; None = every neighbour (the paper)
    pace: np.ndarray | None = None        # [K, k] play-speed factor to the shots' pace; None = as recorded (the paper)
    margin: np.ndarray | None = None      # [K, k] motion margin over the nearest other class (adapt.kinematic)

    def rerank(self, score: np.ndarray, top_k: int) -> np.ndarray:
        """Keep, per class, the ``top_k`` neighbours with the highest ``score [K, pool]`` (ties keep caption
        order); returns the kept columns ``[K, top_k]`` so that other per-neighbour arrays can follow."""
        columns = np.argsort(-np.asarray(score), axis=1, kind="stable")[:, : int(top_k)]
        self.neighbours = np.take_along_axis(self.neighbours, columns, axis=1)
        self.similarities = np.take_along_axis(self.similarities, columns, axis=1)
        return columns

    def gate(self, scores: np.ndarray, threshold: float) -> None:
        """Record the kinematic scores; with ``threshold > 0`` windows scoring below it get weight 0."""
        self.kinematic = np.asarray(scores, np.float32)
        self.weights = (self.kinematic >= threshold).astype(np.float32) if threshold > 0 else None

    def report(self, *, sample_ids: Sequence[str] | None = None, show: int | None = None) -> dict:
        """JSON-able report (``mining.json``): per class its captions and best neighbours."""
        classes = []
        for k, name in enumerate(self.class_names):
            rows = []
            count = self.neighbours.shape[1] if show is None else min(show, self.neighbours.shape[1])
            for j in range(count):
                n = int(self.neighbours[k, j])
                clip, start, end = (int(v) for v in self.candidates.windows[n])
                row = {"candidate": n, "clip": clip, "sample_id": None if sample_ids is None else str(sample_ids[clip]),
                       "start": start, "end": end, "similarity": round(float(self.similarities[k, j]), 5),
                       "captions": self.candidates.captions(n)}
                if self.kinematic is not None:
                    row["kinematic"] = round(float(self.kinematic[k, j]), 4)
                if self.margin is not None:
                    row["motion_margin"] = round(float(self.margin[k, j]), 4)
                if self.weights is not None:
                    row["kept"] = bool(self.weights[k, j] > 0)
                if self.pace is not None:
                    row["pace"] = round(float(self.pace[k, j]), 3)
                rows.append(row)
            entry = {"class": k, "name": name, "captions": self.class_captions[k],
                     "mean_similarity": round(float(self.similarities[k].mean()), 5), "neighbours": rows}
            if self.kinematic is not None:
                entry["mean_kinematic"] = round(float(self.kinematic[k].mean()), 4)
            if self.weights is not None:
                entry["kept"] = int((self.weights[k] > 0).sum())
            classes.append(entry)
        return {"source": self.candidates.collection, "candidates": len(self.candidates),
                "top_k": int(self.neighbours.shape[1]), "classes": classes}


def mine_soft_positives(source: Collection, class_names: Sequence[str], encode: TextEncoder, *, top_k: int = 250,
                        captions: list[list[str]] | None = None, min_frames: int = 2) -> MiningResult:
    """Candidates of ``source``, class captions, and the top-k neighbours of every class."""
    per_class = captions if captions is not None else class_captions(class_names)
    candidates = source_candidates(source, min_frames=min_frames)
    text_embeddings = _unit(np.asarray(encode(candidates.texts), dtype=np.float32))
    flat_class = [c for caps in per_class for c in caps]
    class_caption_unit = _unit(np.asarray(encode(flat_class), dtype=np.float32))
    if class_caption_unit.shape[1] != text_embeddings.shape[1]:
        raise KinemicError("text encoder returned different widths for class and source captions")
    bounds = np.cumsum([0] + [len(c) for c in per_class])
    per_class_emb = [class_caption_unit[bounds[k]:bounds[k + 1]] for k in range(len(per_class))]
    class_emb = mean_normalised(class_caption_unit, [range(bounds[k], bounds[k + 1]) for k in range(len(per_class))])
    source_emb = mean_normalised(text_embeddings, candidates.caption_ids)
    neighbours, sims = soft_positive_neighbours(class_emb, source_emb, top_k)
    return MiningResult(list(class_names), [list(c) for c in per_class], class_emb, per_class_emb, candidates,
                        text_embeddings, neighbours, sims)


def _unit(x: np.ndarray) -> np.ndarray:
    if x.ndim != 2:
        raise KinemicError(f"text encoder must return [N, E] embeddings, got shape {x.shape}")
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)
