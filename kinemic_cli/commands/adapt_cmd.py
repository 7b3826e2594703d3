"""``kinemic adapt``: KineMIC few-shot adaptation of a text-to-motion prior (and its baselines)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import KinemicError
from ._common import (
    CollectionOpt,
    ConfigOpt,
    DeviceOpt,
    FewShotSeedOpt,
    JsonOpt,
    MaxStepsOpt,
    NprocOpt,
    OutOpt,
    PrecisionOpt,
    ProtocolOpt,
    ResumeOpt,
    SeedOpt,
    ShotsOpt,
    StoreOpt,
    command,
    emit,
    open_store,
    relaunch_under_torchrun,
)


def _mining_view(report: dict):
    def human(console) -> None:
        for entry in report["classes"]:
            motion = f", motion {entry['mean_kinematic']:.2f}" if "mean_kinematic" in entry else ""
            kept = f", {entry['kept']} of {report['top_k']} kept by the kinematic gate" if "kept" in entry else ""
            table = Table(title=f"{entry['name']}  ({' | '.join(entry['captions'])})  mean sim "
                                f"{entry['mean_similarity']:.3f}{motion}{kept}",
                          title_justify="left")
            table.add_column("sim", justify="right")
            table.add_column("motion", justify="right")
            table.add_column("source clip")
            table.add_column("frames", justify="right")
            table.add_column("captions")
            for n in entry["neighbours"]:
                motion = f"{n['kinematic']:.2f}" if "kinematic" in n else ""
                if n.get("kept") is False:
                    motion += " x"
                table.add_row(f"{n['similarity']:.3f}", motion, str(n["sample_id"]), f"{n['start']}-{n['end']}",
                              " | ".join(n["captions"])[:100])
            console.print(table)
        console.print(f"{report['candidates']} candidate source windows in {report['source']!r}; "
                      f"top-{report['top_k']} kept per class")
    return human


@command
def adapt(
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Target dataset (its collection in the store), e.g. ntu60 or demo.")] = None,
    prior: Annotated[Optional[str], typer.Option("--prior", help="Prior folder (from `kinemic pretrain`), or builtin:demo for the shipped demo prior.")] = None,
    out: OutOpt = None,
    shots: ShotsOpt = 10,
    fewshot_seed: FewShotSeedOpt = 42,
    store: StoreOpt = None,
    collection: CollectionOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Captioned source collection (kind t2m) to mine; default: the prior's training collection.")] = None,
    protocol: ProtocolOpt = None,
    method: Annotated[str, typer.Option("--method", help="kinemic (mining + MIC + windows), finetune (all weights, no mining) or lora (LoRA, no mining).")] = "kinemic",
    top_k: Annotated[int, typer.Option("--top-k", help="Source windows mined per class.")] = 250,
    memory_bank: Annotated[int, typer.Option("--memory-bank", help="Detached source embeddings kept for the contrastive loss.")] = 60,
    contrastive: Annotated[bool, typer.Option("--contrastive/--no-contrastive", help="Contrastive MIC loss L_con.")] = True,
    window: Annotated[bool, typer.Option("--window/--no-window", help="Window-mining loss L_win.")] = True,
    dww: Annotated[bool, typer.Option("--dww/--no-dww", help="Dynamic window weighting of L_win.")] = True,
    lambda_rec: Annotated[float, typer.Option("--lambda-rec", help="Weight of L_rec.")] = 1.0,
    lambda_con: Annotated[float, typer.Option("--lambda-con", help="Weight of L_con.")] = 1.0,
    lambda_win: Annotated[float, typer.Option("--lambda-win", help="Weight of L_win.")] = 1.0,
    kinematic_gate: Annotated[float, typer.Option("--kinematic-gate", help="Keep only mined windows whose motion is at least this close (cosine of motion profiles) to the shots of their class; 0 keeps all (the paper).")] = 0.0,
    action_every_frame: Annotated[bool, typer.Option("--action-every-frame/--action-token-only", help="Add the class's action row to every frame token too, not only to the conditioning token (default: token only, as MDM).")] = False,
    feature_balance: Annotated[bool, typer.Option("--feature-balance/--no-feature-balance", help="Divide each feature's squared error by its spread on the shots where that exceeds the prior corpus's (z^2 > 1), so a feature the corpus never moves (sideways root velocity) cannot dominate the loss.")] = False,
    kinematic_rerank: Annotated[int, typer.Option("--kinematic-rerank", help="Mine this many windows by caption, re-rank them by caption similarity + motion margin (how much closer a window moves to its class's shots than to any other class's) and keep --top-k (needs N >= --top-k); 0 keeps caption order (the paper).")] = 2000,
    pace_match: Annotated[bool, typer.Option("--pace-match/--no-pace-match", help="Re-time each mined window to the mean speed of its class's shots (factor within 0.5-2) before it trains the student; --no-pace-match plays source windows at their own pace (the paper).")] = True,
    window_threshold: Annotated[float, typer.Option("--window-threshold", help="Dynamic window weight clamp((cos - T) / (1 - T), 0, 1); -1 is the paper's (1 + cos) / 2, 0 gives an unrelated window no weight.")] = -1.0,
    lambda_vel: Annotated[float, typer.Option("--lambda-vel", help="Weight of the velocity loss on the target reconstruction (feature and decoded-joint velocities, relative to the shots' own; 0 = off).")] = 0.0,
    snr_weight_cap: Annotated[float, typer.Option("--snr-weight-cap", help="Weight each step's reconstruction losses by clamp(SNR(t), 1, G) (normalised to mean 1), so nearly clean steps count; 0 = every step alike (the paper).")] = 0.0,
    class_captions: Annotated[Optional[Path], typer.Option("--class-captions", help="YAML: class name -> caption or list of captions.")] = None,
    caption_template: Annotated[str, typer.Option("--caption-template", help="Caption of a class without an entry in --class-captions.")] = "a person {name}",
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default from the prior's preset: tiny 1e-3, small 2e-4, paper 2e-5).")] = None,
    augment_shots: Annotated[int, typer.Option("--augment-shots", help="Geometric copies of each shot (scale, shear, tilt, time warp) added to the student's reconstruction loss; mining uses the shots only. 0 = the shots alone (the paper).")] = 0,
    action_lr_mult: Annotated[float, typer.Option("--action-lr-mult", help="The new action table (one row per class, starting at zero) learns at this multiple of --lr; 1 = one rate for all (the paper).")] = 1.0,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="AdamW weight decay.")] = 1e-5,
    grad_clip: Annotated[float, typer.Option("--grad-clip", help="Gradient norm clip.")] = 1.0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Shots per step over all processes (the global batch; all shots when they are fewer).")] = 30,
    max_steps: MaxStepsOpt = None,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Steps between resumable checkpoints.")] = 250,
    cfg_drop: Annotated[float, typer.Option("--cfg-drop", help="Probability of dropping text and (independently) action.")] = 0.1,
    lora_rank: Annotated[int, typer.Option("--lora-rank", help="LoRA rank.")] = 16,
    lora_alpha: Annotated[float, typer.Option("--lora-alpha", help="LoRA alpha (scale = alpha / rank).")] = 32.0,
    lora_dropout: Annotated[float, typer.Option("--lora-dropout", help="Dropout on the LoRA input.")] = 0.1,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    precision: PrecisionOpt = "fp32",
    resume: ResumeOpt = False,
    show_mining: Annotated[bool, typer.Option("--show-mining", help="Print what is mined for each class and exit.")] = False,
    nproc: NprocOpt = 1,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Adapt a text-to-motion prior to few-shot action classes (KineMIC or a baseline); writes a run folder."""
    if not dataset:
        raise KinemicError("--dataset is required")
    if not prior:
        raise KinemicError("--prior is required (a `kinemic pretrain` run folder, or builtin:demo)")
    if not show_mining and not out:
        raise KinemicError("--out is required (the run folder)")
    if not show_mining and relaunch_under_torchrun(nproc, what="adapt"):
        return
    from ..adapt import run as adapt_pipeline
    from ..adapt.config import AdaptConfig, resolve_adapt_config
    from ..prior.bundle import load_prior
    from ..runtime.distributed import process_device

    st = open_store(store)
    loaded_prior = load_prior(prior, process_device(device), store=st)
    cfg = resolve_adapt_config(AdaptConfig(
        dataset=dataset, prior=prior, out=None if out is None else str(out), collection=collection, source=source,
        store=str(st.path), shots=shots, fewshot_seed=fewshot_seed, seed=seed, method=method, protocol=protocol,
        top_k=top_k, memory_bank=memory_bank, contrastive=contrastive, window=window, dww=dww,
        lambda_rec=lambda_rec, lambda_con=lambda_con, lambda_win=lambda_win, lambda_vel=lambda_vel,
        snr_weight_cap=snr_weight_cap, feature_balance=feature_balance, action_every_frame=action_every_frame, kinematic_gate=kinematic_gate, kinematic_rerank=kinematic_rerank, pace_match=pace_match, window_threshold=window_threshold,
        cfg_drop=cfg_drop, lr=lr, action_lr_mult=action_lr_mult, augment_shots=augment_shots,
        weight_decay=weight_decay, grad_clip=grad_clip, batch_size=batch_size, max_steps=max_steps,
        checkpoint_every=checkpoint_every, lora_rank=lora_rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
        class_captions=None if class_captions is None else str(class_captions), caption_template=caption_template,
        device=device, precision=precision), preset=loaded_prior.preset)
    if show_mining:
        report = adapt_pipeline.show_mining(cfg, store=st, prior=loaded_prior)
        return emit(report, json_output, _mining_view(report))
    result = adapt_pipeline.run_adaptation(cfg, store=st, resume=resume, prior=loaded_prior)
    emit(result.as_dict(), json_output,
         f"adapted {len(result.classes)} classes ({result.method}, {result.steps} steps, "
         f"{result.seconds_per_step * 1000:.0f} ms/step, {result.trainable_parameters:,} trainable parameters) -> {result.out}")
