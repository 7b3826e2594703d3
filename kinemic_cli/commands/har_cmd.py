"""``kinemic train-har``: ST-GCN recognisers on real / synth / mixed / gt / augment training sets."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer
from rich.table import Table

from ..errors import KinemicError
from ..har.modes import TRAIN_MODES
from ..models.streams import STREAMS
from ._common import (
    CollectionOpt,
    ConfigOpt,
    DeviceOpt,
    FewShotSeedOpt,
    JsonOpt,
    NprocOpt,
    OutOpt,
    PrecisionOpt,
    ProtocolOpt,
    ResumeOpt,
    ShotsOpt,
    StoreOpt,
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
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Dataset whose collection holds the real clips (e.g. demo, ntu60).")] = None,
    train: Annotated[str, typer.Option("--train", help=f"Training set: {', '.join(TRAIN_MODES)}.")] = "real",
    synthetic: Annotated[Optional[str], typer.Option("--synthetic", help="Synthetic collection (for --train synth / mixed); classes matched by name. It must come from a model adapted on the same shots.")] = None,
    synthetic_per_class: Annotated[Optional[int], typer.Option("--synthetic-per-class", help="Use at most this many synthetic clips per class.")] = None,
    protocol: ProtocolOpt = None,
    shots: ShotsOpt = 10,
    fewshot_seed: FewShotSeedOpt = 42,
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
    augment_synthetic: Annotated[bool, typer.Option("--augment-synthetic", help="Replace every synthetic clip by one geometric augmentation of itself (yaw, scale, shear, speed).")] = False,
    synthetic_weight: Annotated[float, typer.Option("--synthetic-weight", help="Loss weight of a generated clip (a real one weighs 1): below 1, synthetic clips teach less than the shots.")] = 1.0,
    augment_shots: Annotated[bool, typer.Option("--augment-shots", help="Also add the augmented copies of the shots with --train real / mixed (mixed: shots + copies + synthetic).")] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", help="torch CPU threads (default: torch's choice).")] = None,
    sync_bn: Annotated[bool, typer.Option("--sync-bn/--no-sync-bn", help="Under several processes: BatchNorm statistics of the global batch (default) or of each process's rows.")] = True,
    nproc: NprocOpt = 1,
    store: StoreOpt = None,
    collection: CollectionOpt = None,
    out: OutOpt = None,
    device: DeviceOpt = "cpu",
    precision: PrecisionOpt = "fp32",
    resume: ResumeOpt = False,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
    extra_seeds: Annotated[Optional[List[int]], typer.Argument(hidden=True, help="More seeds after --seeds.")] = None,
) -> None:
    """Train ST-GCN recognisers (one per seed) and report test accuracy, last epoch and validation-selected."""
    name = collection or dataset
    if not name:
        raise KinemicError("--dataset (or --collection) is required")
    if not out:
        raise KinemicError("--out is required (the run folder)")
    if stream not in STREAMS:
        raise KinemicError(f"--stream {stream!r}: expected one of {', '.join(STREAMS)}")
    seed_list = parse_seeds(seeds, extra_seeds) or [1, 2, 3]
    from ..har.run import HarRunConfig, run_train_har
    from ..har.train import TrainConfig
    from ..runtime.distributed import resolve_device
    from ..runtime.precision import check_precision

    resolve_device(device)
    check_global_batch(batch_size, nproc)
    if relaunch_under_torchrun(nproc, what="train-har",
                               resume_hint="--resume keeps the seeds that finished and redoes the others"):
        return
    training = TrainConfig(model=model, width=width, stream=stream, clip_len=clip_len, epochs=epochs,
                           batch_size=batch_size, base_lr=lr, weight_decay=weight_decay,
                           min_epoch_clips=min_epoch_clips, sync_bn=sync_bn, device=device,
                           synthetic_weight=synthetic_weight,
                           precision=check_precision(precision))
    cfg = HarRunConfig(collection=name, train=train, out=str(out), protocol=protocol, shots=shots,
                       fewshot_seed=fewshot_seed, seeds=seed_list, classes=classes, synthetic=synthetic,
                       synthetic_per_class=synthetic_per_class, val_per_class=val_per_class,
                       augment_copies=augment_copies, augment_shots=augment_shots,
                       augment_synthetic=augment_synthetic, threads=threads, training=training)
    result = run_train_har(cfg, open_store(store), resume=resume)
    emit(result, json_output, results_view(result))
