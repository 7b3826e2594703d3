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


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.0f}"


def _scorecard_view(card: dict):
    def human(console) -> None:
        o = card["overall"]
        has_judge, has_eval = o["judge_accuracy"] is not None, o["evaluator_accuracy"] is not None
        table = Table(title=f"scorecard of {card['synthetic']} ({o['clips']} clips; real: {card['real']}, "
                            f"shots: {card['fewshot_split'] or '?'})", title_justify="left")
        table.add_column("class")
        table.add_column("clips", justify="right")
        table.add_column("speed", justify="right")
        table.add_column("ratio", justify="right")
        table.add_column("vs shots", justify="right")
        table.add_column("raw", justify="right")
        has_distance = o.get("shot_distance_ratio") is not None
        if has_distance:
            table.add_column("shot dist.", justify="right")
        if has_judge:
            table.add_column("judge %", justify="right")
        if has_eval:
            table.add_column("eval %", justify="right")
            table.add_column("eval reads it as")
        for name, r in card["per_class"].items():
            cells = [name, str(r["clips"]), f"{r['speed']:.3f}", f"{r['speed_ratio']:.2f}", f"{r['speed_ratio_shots']:.2f}",
                     f"{r['speed_ratio_raw']:.2f}"]
            if has_distance:
                cells.append(f"{r['shot_distance_ratio']:.2f}" if "shot_distance_ratio" in r else "-")
            if has_judge:
                cells.append(_pct(r.get("judge_accuracy")))
            if has_eval:
                cells.append(_pct(r.get("evaluator_accuracy")))
                cells.append(", ".join(f"{c['class']} {c['clips']}" for c in r.get("evaluator_read_as", [])))
            table.add_row(*cells)
        console.print(table)
        line = (f"speed ratio (generated / real training clips): mean {o['speed_ratio_mean']:.2f}, "
                f"min {o['speed_ratio_min']:.2f}, max {o['speed_ratio_max']:.2f}; "
                f"{o['classes_within_0.8_1.2']}/{o['classes']} classes within 0.8-1.2 (speeds after a "
                f"50 ms low-pass that removes sensor jitter; without it: mean {o['speed_ratio_raw_mean']:.2f})")
        if has_distance:
            line += (f"; distance to the nearest shot: {o['shot_distance']:.3f} (real non-shot clips "
                     f"{o['shot_distance_real']:.3f}, ratio {o['shot_distance_ratio']:.2f})")
        if has_judge:
            line += f"; judge {_pct(o['judge_accuracy'])} %"
        if has_eval:
            line += (f"; evaluator {_pct(o['evaluator_accuracy'])} % (real test clips: "
                     f"{_pct(o['evaluator_accuracy_real_reference'])} %); FID {o['fid']:.2f} (real train vs test "
                     f"{o['fid_real_reference']:.2f}); diversity {o['diversity']:.2f} (real {o['diversity_real_reference']:.2f})")
        console.print(line, highlight=False)
    return human


def _split_list(values: list[str] | None) -> list[str]:
    return [part.strip() for v in (values or []) for part in str(v).split(",") if part.strip()]


@command
def evaluate(
    runs: Annotated[Optional[List[Path]], typer.Argument(help="`kinemic train-har` run folders to report on (one table row each).")] = None,
    synthetic: Annotated[Optional[List[str]], typer.Option("--synthetic", help="Synthetic collection(s) to score with the evaluator (repeat or comma-separate).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Dataset whose real clips train the evaluator (default: the runs' collection).")] = None,
    evaluator: Annotated[Optional[Path], typer.Option("--evaluator", help="Evaluator run folder; trained on all real training clips if it has none.")] = None,
    judge: Annotated[Optional[Path], typer.Option("--judge", help="With --synthetic: a train-har run of the same shots (e.g. --train augment) whose recognition of the generated clips the scorecard reports.")] = None,
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
    diversity, multimodality and recognition accuracy.  `kinemic evaluate --synthetic COLL [--judge RUN]
    [--evaluator DIR]` prints the generator scorecard in minutes: per class, the speed of the generated clips
    against real ones, how far they lie from the nearest shot (against other real clips of the class), how many
    the shots' recogniser (--judge) and the all-real evaluator recognise, what they are confused with, and
    FID / diversity.
    """
    run_folders = list(runs or [])
    synth = _split_list(synthetic)
    if not run_folders and not synth:
        raise KinemicError("nothing to evaluate: give train-har run folders and/or --synthetic COLLECTION")
    from ..evaluate.evaluator import ensure_evaluator
    from ..evaluate.report import build_report, load_run
    from ..har.train import TrainConfig
    from ..runtime.atomic import atomic_write_text
    from ..runtime.distributed import resolve_device

    resolve_device(device)
    name = collection or dataset or (load_run(run_folders[0])["collection"] if run_folders else None)
    st = open_store(store)
    ev = None
    if evaluator is not None:
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
    from ..evaluate.scorecard import scorecard
    from ..generate.filter import load_judge

    the_judge = load_judge(judge, device=device) if judge is not None else None
    cards = [scorecard(st, coll, real=collection or dataset, protocol=protocol, evaluator=ev, judge=the_judge,
                       seed=seed) for coll in synth]
    if out is not None:
        import json
        for card in cards:
            atomic_write_text(out / f"scorecard-{card['synthetic']}.json", json.dumps(card, indent=1))
    if json_output:
        return emit({"scorecards": cards}, True)
    for card in cards:
        emit(card, False, _scorecard_view(card))
