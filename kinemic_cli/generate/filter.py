"""Keep only the synthetic clips that a few-shot recogniser agrees with.

Why: a generator can collapse a class onto a neighbouring one (on the demo world the
adapted generator's "salute" clips move like "clap").  Such clips are worse than none: in
``--train mixed`` they teach the recogniser that clap motion means salute, and the real
clap class loses accuracy too.  A recogniser trained on the real shots alone (best with
``--train augment``) is a cheap judge that needs no labelled clip beyond the shots, so
filtering with it stays honest: the test split is never read.

The judge is a ``train-har`` run folder (its seeds' last-epoch models, softmax averaged)
or one saved model (``RUN/seed1/last``).  A clip is kept when the judge's top class is the
clip's label and, optionally, its probability reaches ``min_confidence``.  Kept clips are
copied unchanged, with their sample ids, into a new collection whose provenance names the
source collection and the judge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import KinemicError
from ..har.data import load_clip_bank
from ..har.train import load_recogniser, predict
from ..runtime.checkpoints import state_exists
from ..runtime.progress import progress_task
from ..runtime.provenance import collect_provenance
from ..store import MotionStore
from ..store.splits import FewShotSplit

__all__ = ["Judge", "load_judge", "filter_synthetic"]


@dataclass
class Judge:
    """One or more recognisers over the same classes; :meth:`probabilities` averages them."""

    paths: list[str]
    models: list
    class_names: list[str]
    fewshot: FewShotSplit | None = None  # the shots the judge was trained on

    def probabilities(self, bank) -> np.ndarray:
        probs = []
        for model, cfg in self.models:
            logits = torch.from_numpy(predict(model, bank, cfg, model.skeleton))
            probs.append(torch.softmax(logits, dim=1).numpy())
        return np.mean(probs, axis=0)


def _model_bases(path: Path) -> list[Path]:
    """A saved model's base path, or every ``seed*/last`` of a train-har run folder."""
    if state_exists(path):
        return [path]
    results = path / "results.json"
    if path.is_dir() and results.exists():
        seeds = json.loads(results.read_text()).get("seeds", [])
        bases = [path / f"seed{s}" / "last" for s in seeds]
        missing = [str(b) for b in bases if not state_exists(b)]
        if missing or not bases:
            raise KinemicError(f"--judge {path}: run folder lacks its models ({', '.join(missing) or 'no seeds'})")
        return bases
    raise KinemicError(f"--judge {path}: neither a train-har run folder (with results.json) nor a saved model "
                       "(e.g. RUN/seed1/last)")


def load_judge(path: str | Path, device: str = "cpu") -> Judge:
    bases = _model_bases(Path(path))
    models, names, shots = [], None, []
    for base in bases:
        model, cfg, meta = load_recogniser(base, device=device)
        if names is not None and meta["class_names"] != names:
            raise KinemicError(f"--judge {path}: its models disagree on the class list")
        names = meta["class_names"]
        models.append((model, cfg))
        shots.append(FewShotSplit.from_dict(meta.get("fewshot")))
    if any(s is None for s in shots):
        raise KinemicError(f"--judge {path}: not trained on few-shot clips (a judge must be a train-har run of the "
                           "shots, e.g. --train augment; a gt run has seen every labelled clip)")
    if len(set(shots)) > 1:
        raise KinemicError(f"--judge {path}: its models were trained on different shots")
    return Judge(paths=[str(b) for b in bases], models=models, class_names=list(names), fewshot=shots[0])


def filter_synthetic(store: MotionStore, synthetic: str, judge: Judge, into: str, *, min_confidence: float = 0.0,
                     overwrite: bool = False) -> dict:
    """Write the clips of ``synthetic`` that ``judge`` agrees with into collection ``into``."""
    if not 0.0 <= min_confidence <= 1.0:
        raise KinemicError(f"--min-confidence must lie in [0, 1], got {min_confidence}")
    if into == synthetic:
        raise KinemicError(f"--out {into!r}: must differ from the filtered collection (nothing stored is overwritten)")
    if not store.has(synthetic):
        raise KinemicError(f"{synthetic!r}: no such collection in {store.path}")
    with store.collection(synthetic) as coll:
        if judge.fewshot is not None:
            judge.fewshot.require_same(coll.attrs.get("fewshot"), what=f"{synthetic!r}")
        unknown = sorted(set(coll.class_names) - set(judge.class_names))
        if unknown:
            raise KinemicError(f"{synthetic!r}: classes {unknown} are unknown to the judge "
                               f"({', '.join(judge.class_names)}); labels are matched by name")
        label_map = {i: judge.class_names.index(n) for i, n in enumerate(coll.class_names)}
        indices = np.arange(len(coll))
        skeleton = judge.models[0][0].skeleton
        bank = load_clip_bank(coll, indices, label_map=label_map, skeleton=skeleton,
                              persons=judge.models[0][0].config["persons"], origin="synth")
        probs = judge.probabilities(bank)
        own = probs[np.arange(len(bank)), bank.labels]
        keep = (probs.argmax(axis=1) == bank.labels) & (own >= min_confidence)
        per_class = {}
        for k, name in enumerate(coll.class_names):
            rows = coll.labels == k
            per_class[name] = {"clips": int(rows.sum()), "kept": int(keep[rows].sum())}
        if not keep.any():
            raise KinemicError(f"{synthetic!r}: the judge recognises none of its {len(bank)} clips "
                               f"(min confidence {min_confidence}); no collection written")
        writer = store.writer(into, skeleton=coll.skeleton, fps=coll.fps, class_names=coll.class_names, kind=coll.kind,
                              persons=coll.persons, attrs=coll.attrs, overwrite=overwrite)
        try:
            with progress_task(f"filter {synthetic} -> {into}", int(keep.sum())) as bar:
                for i in np.flatnonzero(keep):
                    writer.add(coll.clip(int(i)))
                    bar.advance()
            config = {"synthetic": synthetic, "judge": judge.paths, "min_confidence": min_confidence}
            writer.commit(collect_provenance("filter", config, inputs=[str(coll.path), *judge.paths],
                                             source_provenance={synthetic: coll.provenance}))
        except BaseException:
            writer.abort()
            raise
    return {"synthetic": synthetic, "out": into, "judge": judge.paths, "min_confidence": min_confidence,
            "clips": int(len(bank)), "kept": int(keep.sum()), "per_class": per_class}
