"""``kinemic evaluate``: accuracy reports of recognisers, generative metrics, the uplift table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table

from ..errors import KinemicError
from ._common import (
    CollectionOpt,
    ConfigOpt,
    DeviceOpt,
    JsonOpt,
    OutOpt,
    ProtocolOpt,
    SeedOpt,
    StoreOpt,
    command,
    emit,
    open_store,
)


def _report_view(report: dict):
    def human(console) -> None:
        table = Table(title=report["title"])
        for col in ("setting", f"acc % ({report['headline']})", "acc % (val-sel.)", "FID", "div.", "multimod.", "gen. acc %"):
            table.add_column(col, justify="left" if col == "setting" else "right")
        other = "selected" if report["headline"] == "last" else "last"
        for row in report["rows"]:
            a, b = row["summary"][report["headline"]]["accuracy"], row["summary"][other]["accuracy"]
            gen = row.get("generative")
            table.add_row(row["label"], f"{100 * a['mean']:.1f} ± {100 * a['std']:.1f}",
                          f"{100 * b['mean']:.1f} ± {100 * b['std']:.1f}",
                          *([f"{gen['fid']:.2f}", f"{gen['diversity']:.2f}", f"{gen['multimodality']:.2f}",
                             f"{100 * gen['accuracy']:.1f}"] if gen else ["", "", "", ""]))
        console.print(table)
        console.print(f"report: {report['markdown']}")
    return human


def _generative_view(result: dict):
    def human(console) -> None:
        ref = result["reference"]
        table = Table(title=f"{result['synthetic']}: {result['clips']} clips vs real test ({ref['test_clips']} clips)")
        table.add_column("metric")
        table.add_column("synthetic", justify="right")
        table.add_column("real reference", justify="right")
        table.add_row("FID", f"{result['fid']:.3f}", f"{ref['fid_train_vs_test']:.3f} (train vs test)")
        table.add_row("diversity", f"{result['diversity']:.3f}", f"{ref['diversity_test']:.3f}")
        table.add_row("multimodality", f"{result['multimodality']:.3f}", f"{ref['multimodality_test']:.3f}")
        table.add_row("recognition accuracy %", f"{100 * result['accuracy']:.1f}", f"{100 * ref['accuracy_test']:.1f}")
        console.print(table)
    return human


def _split_list(values: list[str] | None) -> list[str]:
    return [part.strip() for v in (values or []) for part in str(v).split(",") if part.strip()]


@command
def evaluate(
    runs: Annotated[Optional[List[Path]], typer.Argument(help="`kinemic train-har` run folders to report on (one table row each).")] = None,
    synthetic: Annotated[Optional[List[str]], typer.Option("--synthetic", help="Synthetic collection(s) to score with the evaluator (repeat or comma-separate).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Dataset whose real clips train the evaluator (default: the runs' collection).")] = None,
    evaluator: Annotated[Optional[Path], typer.Option("--evaluator", help="Evaluator run folder; trained on all real training clips if it has none.")] = None,
    labels: Annotated[Optional[str], typer.Option("--labels", help="Comma-separated row labels, one per run.")] = None,
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "kinemic evaluation",
    protocol: ProtocolOpt = None,
    evaluator_model: Annotated[str, typer.Option("--evaluator-model", help="ST-GCN variant of the evaluator.")] = "stgcn-small",
    evaluator_epochs: Annotated[int, typer.Option("--evaluator-epochs", help="Epochs of the evaluator (if it must be trained).")] = 30,
    clip_len: Annotated[int, typer.Option("--clip-len", help="Frames per sample of the evaluator.")] = 48,
    store: StoreOpt = None,
    collection: CollectionOpt = None,
    out: OutOpt = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Report recogniser accuracy (mean ± std over seeds, per class, confusion matrices) and generative metrics.

    `kinemic evaluate RUN... --out DIR` writes the table of the runs (the uplift table when the runs are the
    settings real / augment / mixed / gt); with `--evaluator` each run's synthetic collection also gets FID,
    diversity, multimodality and recognition accuracy.  `kinemic evaluate --synthetic COLL --dataset demo
    --evaluator runs/evaluator` scores synthetic collections alone.
    """
    run_folders = list(runs or [])
    synth = _split_list(synthetic)
    if not run_folders and not synth:
        raise KinemicError("nothing to evaluate: give train-har run folders and/or --synthetic COLLECTION")
    from ..evaluate.evaluator import ensure_evaluator, generative_metrics
    from ..evaluate.report import build_report, load_run
    from ..har.train import TrainConfig
    from ..runtime.atomic import atomic_write_text
    from ..runtime.distributed import resolve_device

    resolve_device(device)
    name = collection or dataset or (load_run(run_folders[0])["collection"] if run_folders else None)
    st = open_store(store)
    ev = None
    if evaluator is not None or synth:
        if evaluator is None:
            raise KinemicError("--synthetic needs --evaluator FOLDER (the evaluator ST-GCN is cached there)")
        if not name:
            raise KinemicError("--dataset is required to train or check the evaluator")
        cfg = TrainConfig(model=evaluator_model, epochs=evaluator_epochs, clip_len=clip_len, device=device)
        ev = ensure_evaluator(evaluator, st, name, protocol=protocol, cfg=cfg, seed=seed)
    if run_folders:
        if out is None:
            raise KinemicError("--out is required (the report folder)")
        report = build_report(run_folders, out, labels=_split_list([labels]) if labels else None, evaluator=ev,
                              store=st, seed=seed, title=title)
        return emit(report, json_output, _report_view(report))
    results = [generative_metrics(ev, st, coll, seed=seed) for coll in synth]
    if out is not None:
        import json
        for r in results:
            atomic_write_text(out / f"generative-{r['synthetic']}.json", json.dumps(r, indent=1))
    if json_output:
        return emit({"generative": results}, True)
    for r in results:
        emit(r, False, _generative_view(r))
