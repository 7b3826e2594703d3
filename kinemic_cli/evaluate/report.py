"""The evaluation report: accuracy of trained recognisers (+ generative metrics) as Markdown.

:func:`build_report` reads ``train-har`` run folders (their ``results.json``), optionally adds
the generative metrics of each run's synthetic collection (through an evaluator), and
writes into ``out``::

    report.md             one table row per run (the uplift table when the runs are the
                          settings of one protocol) + per-class accuracy + figures
    report.json           the same numbers, machine-readable
    confusion-<row>.png   mean row-normalised confusion matrix over seeds (headline weights)
    features-<coll>.png   2-D PCA of evaluator features: real test vs synthetic clips

Rows are labelled ``setting`` or ``setting: synthetic-collection``, or by ``labels``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import KinemicError
from ..runtime.atomic import atomic_write_text
from ..store import MotionStore
from .evaluator import Evaluator, generative_metrics

__all__ = ["load_run", "build_report", "markdown_table"]


def load_run(folder: Path) -> dict:
    path = Path(folder) / "results.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise KinemicError(f"{path}: not found (is {folder} a finished `kinemic train-har` run?)") from None
    except json.JSONDecodeError as exc:
        raise KinemicError(f"{path}: not valid JSON ({exc.msg})") from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def _pct(stat: dict) -> str:
    return f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}"


def plot_confusion(path: Path, confusion: np.ndarray, class_names: list[str], title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = confusion.sum(axis=1, keepdims=True)
    norm = np.divide(confusion, rows, out=np.zeros_like(confusion, dtype=float), where=rows > 0)
    size = 2.5 + 0.4 * len(class_names)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            if norm[i, j] >= 0.05:
                ax.text(j, i, f"{norm[i, j]:.2f}"[1:] if norm[i, j] < 1 else "1", ha="center", va="center", fontsize=5,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_features(path: Path, feats: dict, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real, synth = feats["test"], feats["synth"]
    both = np.concatenate([real, synth]).astype(np.float64)
    centre = both.mean(axis=0)
    _, _, vt = np.linalg.svd(both - centre, full_matrices=False)
    proj_real, proj_synth = (real - centre) @ vt[:2].T, (synth - centre) @ vt[:2].T
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(proj_real[:, 0], proj_real[:, 1], s=6, alpha=0.5, label="real test")
    ax.scatter(proj_synth[:, 0], proj_synth[:, 1], s=6, alpha=0.5, label="synthetic")
    ax.legend()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(rows: list[dict], headline: str) -> str:
    """The uplift table: one row per run; generative columns when known."""
    other = "selected" if headline == "last" else "last"
    lines = [f"| setting | train clips | accuracy % ({headline} epoch) | accuracy % (val-selected) | seeds "
             "| FID | diversity | multimodality | gen. accuracy % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        gen = row.get("generative") or {}
        cells = [row["label"], str(sum(row["clips"]["train"].values())), _pct(row["summary"][headline]["accuracy"]),
                 _pct(row["summary"][other]["accuracy"]), str(len(row["seeds"]))]
        cells += [f"{gen['fid']:.2f}", f"{gen['diversity']:.2f}", f"{gen['multimodality']:.2f}",
                  f"{100 * gen['accuracy']:.1f}"] if gen else ["", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    refs = [r["generative"]["reference"] for r in rows if r.get("generative")]
    if refs:
        ref = refs[0]
        lines.append(f"| *real (reference)* | {ref['train_clips']} | | | | {ref['fid_train_vs_test']:.2f} (train vs test) "
                     f"| {ref['diversity_test']:.2f} | {ref['multimodality_test']:.2f} | {100 * ref['accuracy_test']:.1f} |")
    return "\n".join(lines)


def build_report(run_folders: list[Path], out: Path, *, labels: list[str] | None = None,
                 evaluator: Evaluator | None = None, store: MotionStore | None = None, seed: int = 0,
                 title: str = "kinemic evaluation") -> dict:
    """Read the runs, add generative metrics when an evaluator is given, write report.md/json + figures."""
    if not run_folders:
        raise KinemicError("give at least one `train-har` run folder to report on")
    if labels and len(labels) != len(run_folders):
        raise KinemicError(f"--labels: {len(labels)} labels for {len(run_folders)} runs")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, generative_cache, figures = [], {}, []
    for k, folder in enumerate(run_folders):
        run = load_run(folder)
        label = labels[k] if labels else (f"{run['setting']}: {run['synthetic']}" if run.get("synthetic") else run["setting"])
        row = {"label": label, "folder": str(folder), **{key: run[key] for key in
                                                         ("setting", "synthetic", "clips", "seeds", "summary", "classes",
                                                          "headline", "test_split", "shots")}}
        confusion = np.sum([np.asarray(r[run["headline"]]["confusion"]) for r in run["per_seed"]], axis=0)
        png = out / f"confusion-{_slug(label)}.png"
        plot_confusion(png, confusion, run["classes"], f"{label} ({run['headline']} epoch, {_count(len(run['seeds']), 'seed')})")
        figures.append(png.name)
        if evaluator is not None and run.get("synthetic"):
            coll = run["synthetic"]
            if coll not in generative_cache:
                feats: dict = {}
                generative_cache[coll] = generative_metrics(evaluator, store, coll, seed=seed, features=feats)
                fig = out / f"features-{_slug(coll)}.png"
                plot_features(fig, feats, f"evaluator features (PCA): real test vs {coll}")
                figures.append(fig.name)
            row["generative"] = generative_cache[coll]
        rows.append(row)
    headline = rows[0]["headline"]
    text = [f"# {title}", "", markdown_table(rows, headline), "",
            f"Accuracy: mean ± sample std over seeds on the test split ({rows[0]['test_split']}); headline = "
            f"{headline} epoch (no labelled clips beyond the training set); val-selected = best epoch on a validation "
            "carve of the training side. Generative metrics in the feature space of an evaluator ST-GCN trained on "
            "all real training clips; FID against the real test clips.", "", "## Per-class accuracy (%)", ""]
    classes = rows[0]["classes"]
    text.append("| class | " + " | ".join(r["label"] for r in rows) + " |")
    text.append("|---|" + "---:|" * len(rows))
    for name in classes:
        cells = []
        for r in rows:
            stat = r["summary"][headline]["per_class"].get(name)
            cells.append(f"{100 * stat['mean']:.1f}" if stat and stat["n"] else "")
        text.append(f"| {name} | " + " | ".join(cells) + " |")
    text += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    atomic_write_text(out / "report.md", "\n".join(text) + "\n")
    report = {"title": title, "headline": headline, "rows": rows, "figures": figures, "markdown": str(out / "report.md")}
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, default=float))
    return report


def _count(n: int, noun: str) -> str:
    """``"1 seed"``, ``"3 seeds"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
