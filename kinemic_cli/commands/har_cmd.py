"""``kinemic train-har``: ST-GCN recognisers on real / synth / mixed / gt / augment training sets."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer
from rich.table import Table

from ..errors import KinemicError
from ..har.sets import TRAIN_MODES
from ..models.graph import STREAMS
from ._common import (
    CollectionOpt,
    ConfigOpt,
    DeviceOpt,
    JsonOpt,
    NprocOpt,
    OutOpt,
    ResumeOpt,
    StoreOpt,
    apply_config,
    check_global_batch,
    command,
    emit,
    open_store,
    relaunch_under_torchrun,
)


def parse_seeds(values: list[str] | str | None, extra: list[int] | None = None) -> list[int]:
    """``--seeds 1 2 3``, ``--seeds 1,2,3`` or ``--seeds 1 --seeds 2`` -> ``[1, 2, 3]``."""
    items = values if isinstance(values, list) else ([values] if values is not None else [])
    seeds = []
    for item in [*items, *(extra or [])]:
        for part in str(item).replace(",", " ").split():
            try:
                seeds.append(int(part))
            except ValueError:
                raise KinemicError(f"--seeds: {part!r} is not an integer") from None
    return seeds


def results_view(result: dict):
    def human(console) -> None:
        table = Table(title=f"train-har {result['setting']} on {result['collection']} ({result['test_split']}, "
                            f"{len(result['classes'])} classes, train clips {result['clips']['train']})")
        table.add_column("seed", justify="right")
        table.add_column("last epoch", justify="right")
        table.add_column("val-selected", justify="right")
        table.add_column("selected epoch", justify="right")
        for r in result["per_seed"]:
            table.add_row(str(r["seed"]), f"{100 * r['last']['accuracy']:.1f}", f"{100 * r['selected']['accuracy']:.1f}",
                          str(r["selected"]["epoch"]))
        s = result["summary"]
        table.add_row("mean", f"{100 * s['last']['accuracy']['mean']:.1f} ± {100 * s['last']['accuracy']['std']:.1f}",
                      f"{100 * s['selected']['accuracy']['mean']:.1f} ± {100 * s['selected']['accuracy']['std']:.1f}", "")
        console.print(table)
        console.print(f"headline: {result['headline']} epoch; results in {result['out']}/results.json")
    return human


@command
def train_har(
    ctx: typer.Context,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Dataset whose collection holds the real clips (e.g. demo, ntu60).")] = None,
    train: Annotated[str, typer.Option("--train", help=f"Training set: {', '.join(TRAIN_MODES)}.")] = "real",
    synthetic: Annotated[Optional[str], typer.Option("--synthetic", help="Synthetic collection (for --train synth / mixed); classes matched by name.")] = None,
    synthetic_per_class: Annotated[Optional[int], typer.Option("--synthetic-per-class", help="Use at most this many synthetic clips per class.")] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Protocol (xsub, xview, ...): shots from <split>/train, test on <split>/test or <split>/val.")] = None,
    shots: Annotated[int, typer.Option("--shots", min=1, help="Real clips per class (few-shot split).")] = 10,
    fewshot_seed: Annotated[int, typer.Option("--fewshot-seed", help="Seed of the few-shot draw (which clips are the shots); separate from --seeds.")] = 42,
    seeds: Annotated[Optional[List[str]], typer.Option("--seeds", help="Training seeds: --seeds 1 2 3 or --seeds 1,2,3.")] = None,
    classes: Annotated[Optional[str], typer.Option("--classes", help="Comma-separated class names or ids (default: all).")] = None,
    model: Annotated[str, typer.Option("--model", help="ST-GCN variant: stgcn, stgcn-small (CPU default), stgcn-tiny.")] = "stgcn-small",
    width: Annotated[Optional[float], typer.Option("--width", help="Channel width multiplier (overrides the variant's).")] = None,
    stream: Annotated[str, typer.Option("--stream", help=f"Input stream: {', '.join(STREAMS)}.")] = "joint",
    clip_len: Annotated[int, typer.Option("--clip-len", help="Frames per sample (uniform temporal sampling).")] = 48,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs (an epoch is at least --min-epoch-clips clips).")] = 30,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Clips per step over all processes (the global batch).")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Base learning rate at batch 128 (scaled by batch/128).")] = 0.1,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="SGD weight decay.")] = 5e-4,
    min_epoch_clips: Annotated[int, typer.Option("--min-epoch-clips", help="Small training sets are repeated up to this many clips per epoch.")] = 1024,
    val_per_class: Annotated[int, typer.Option("--val-per-class", help="Training-side clips per class carved out for model selection (0: none).")] = 5,
    augment_copies: Annotated[int, typer.Option("--augment-copies", help="Augmented copies of each shot (--train augment, --augment-shots).")] = 5,
    augment_shots: Annotated[bool, typer.Option("--augment-shots", help="Also add the augmented copies of the shots with --train real / mixed (mixed: shots + copies + synthetic).")] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", help="torch CPU threads (default: torch's choice).")] = None,
    sync_bn: Annotated[bool, typer.Option("--sync-bn/--no-sync-bn", help="Under several processes: BatchNorm statistics of the global batch (default) or of each process's rows.")] = True,
    nproc: NprocOpt = 1,
    store: StoreOpt = None,
    collection: CollectionOpt = None,
    out: OutOpt = None,
    device: DeviceOpt = "cpu",
    resume: ResumeOpt = False,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
    extra_seeds: Annotated[Optional[List[int]], typer.Argument(hidden=True, help="More seeds after --seeds.")] = None,
) -> None:
    """Train ST-GCN recognisers (one per seed) and report test accuracy, last epoch and validation-selected."""
    values = apply_config(ctx, {k: v for k, v in locals().items() if k != "ctx"}, config)
    name = values["collection"] or values["dataset"]
    if not name:
        raise KinemicError("--dataset (or --collection) is required")
    if not values["out"]:
        raise KinemicError("--out is required (the run folder)")
    if values["stream"] not in STREAMS:
        raise KinemicError(f"--stream {values['stream']!r}: expected one of {', '.join(STREAMS)}")
    seed_list = parse_seeds(values["seeds"], values["extra_seeds"]) or [1, 2, 3]
    from ..har.run import HarRunConfig, run_train_har
    from ..har.train import TrainConfig
    from ..runtime.distributed import resolve_device

    resolve_device(values["device"])
    check_global_batch(int(values["batch_size"]), values["nproc"])
    if relaunch_under_torchrun(values["nproc"], what="train-har",
                               resume_hint="--resume keeps the seeds that finished and redoes the others"):
        return
    training = TrainConfig(model=values["model"], width=values["width"], stream=values["stream"],
                           clip_len=int(values["clip_len"]), epochs=int(values["epochs"]),
                           batch_size=int(values["batch_size"]), base_lr=float(values["lr"]),
                           weight_decay=float(values["weight_decay"]), min_epoch_clips=int(values["min_epoch_clips"]),
                           sync_bn=bool(values["sync_bn"]), device=values["device"])
    st = open_store(values["store"])
    cfg = HarRunConfig(collection=name, train=values["train"], out=str(values["out"]), protocol=values["split"],
                       shots=int(values["shots"]), fewshot_seed=int(values["fewshot_seed"]), seeds=seed_list,
                       classes=values["classes"], synthetic=values["synthetic"],
                       synthetic_per_class=values["synthetic_per_class"], val_per_class=int(values["val_per_class"]),
                       augment_copies=int(values["augment_copies"]),
                       augment_shots=bool(values["augment_shots"]), threads=values["threads"], training=training)
    result = run_train_har(cfg, st, resume=bool(values["resume"]))
    emit(result, json_output, results_view(result))
