"""``kinemic pretrain``: train the text-to-motion prior, or import MDM's HumanML3D checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import KinemicError
from ._common import (
    ConfigOpt,
    DeviceOpt,
    JsonOpt,
    MaxStepsOpt,
    NprocOpt,
    OutOpt,
    PrecisionOpt,
    PresetOpt,
    ResumeOpt,
    SeedOpt,
    StoreOpt,
    check_global_batch,
    command,
    emit,
    open_store,
    relaunch_under_torchrun,
)


@command
def pretrain(
    source: Annotated[Optional[str], typer.Option("--source", help="Captioned t2m collection to train on (e.g. humanml3d, demo-t2m).")] = None,
    out: OutOpt = None,
    store: StoreOpt = None,
    preset: PresetOpt = "small",
    features: Annotated[str, typer.Option("--features", help="rootrel (any 3D skeleton) or hml263 (smpl22, HumanML3D's vector).")] = "rootrel",
    text_encoder: Annotated[Optional[str], typer.Option("--text-encoder", help="sentence-transformers model: name in the local cache or a folder (default: all-MiniLM-L6-v2, shipped with kinemic; clip-ViT-B-32 with --import-mdm).", show_default=False)] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="Split of the source to train on (default train; all clips if it has none).")] = "train",
    max_frames: Annotated[int, typer.Option("--max-frames", help="Longest window the prior sees (and generates).")] = 196,
    min_frames: Annotated[int, typer.Option("--min-frames", help="Shorter captioned windows are left out.")] = 8,
    long_windows: Annotated[str, typer.Option("--long-windows", help="Windows over --max-frames: crop (as MDM) or skip.")] = "crop",
    diffusion_steps: Annotated[int, typer.Option("--diffusion-steps", help="Diffusion steps of the cosine schedule.")] = 50,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Denoiser dropout (default: the preset's, 0.1). With 0, runs on any number of processes give the same numbers up to rounding.")] = None,
    cfg_drop: Annotated[float, typer.Option("--cfg-drop", help="Probability of dropping the text (classifier-free guidance).")] = 0.1,
    augment: Annotated[float, typer.Option("--augment", help="Share of drawn windows replaced by a posture/proportion variation (tilt, scale, shear, time warp), so the prior also covers bodies and postures its corpus lacks; 0 = off.")] = 0.0,
    lambda_vel: Annotated[float, typer.Option("--lambda-vel", help="Weight of the velocity loss (feature and decoded-joint velocities, relative to the corpus's own; 0 = off).")] = 0.0,
    x0_skip: Annotated[bool, typer.Option("--x0-skip/--no-x0-skip", help="Predict x0 as sqrt(a_t) x_t + sqrt(1 - a_t) F (the v-parameterisation): a nearly clean input passes through, so the last sampling steps keep detail; off = MDM's plain x0 output.")] = False,
    snr_weight_cap: Annotated[float, typer.Option("--snr-weight-cap", help="Weight each step's loss by clamp(SNR(t), 1, G) (normalised to mean 1). With --x0-skip and G above the schedule's largest SNR (1000 for 50 steps) the loss is v-prediction's (uniform in the network's output), so the last steps count; 0 = every step alike.")] = 0.0,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate (default per preset: tiny 1e-3, small 4e-4, paper 1e-4).")] = None,
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="AdamW weight decay.")] = 0.0,
    grad_clip: Annotated[float, typer.Option("--grad-clip", help="Gradient norm clip.")] = 1.0,
    warmup_steps: Annotated[int, typer.Option("--warmup-steps", help="Linear learning-rate warm-up.")] = 100,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Global batch (default per preset: 32 tiny, 64 otherwise).")] = None,
    max_steps: MaxStepsOpt = None,
    ema_decay: Annotated[float, typer.Option("--ema-decay", help="Decay of the weight average the prior is saved with.")] = 0.999,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Steps between resumable checkpoints.")] = 500,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    precision: PrecisionOpt = "fp32",
    resume: ResumeOpt = False,
    import_mdm_checkpoint: Annotated[Optional[Path], typer.Option("--import-mdm", help="Convert MDM's HumanML3D checkpoint (.pt) into a prior instead of training.")] = None,
    mdm_stats: Annotated[Optional[Path], typer.Option("--mdm-stats", help="With --import-mdm: the HumanML3D folder holding Mean.npy and Std.npy.")] = None,
    nproc: NprocOpt = 1,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Train the text-to-motion diffusion prior on a captioned collection; writes a prior folder (--out)."""
    if not out:
        raise KinemicError("--out is required (the prior folder)")
    if import_mdm_checkpoint:
        from ..prior.mdm_import import import_mdm

        if not mdm_stats:
            raise KinemicError("--import-mdm needs --mdm-stats DIR (the HumanML3D folder with Mean.npy and Std.npy)")
        encoder = text_encoder or "clip-ViT-B-32"  # MDM was trained with CLIP ViT-B/32
        result = import_mdm(import_mdm_checkpoint, out, stats_folder=mdm_stats, text_encoder=encoder)
        body = ("target clips are retargeted to HumanML3D's reference body, as its vectors were"
                if result["uniform_skeleton"] else
                f"no {mdm_stats}/new_joints: target clips keep their own bodies (HumanML3D retargets to one)")
        return emit(result, json_output, f"imported MDM ({result['layers']} layers, {result['parameters']:,} parameters) "
                                         f"-> {result['out']} (text encoder {encoder}); {body}")
    if not source:
        raise KinemicError("--source is required (a captioned t2m collection; see `kinemic store ls`)")
    from ..prior.pretrain import PretrainConfig, resolve_pretrain_config, run_pretraining

    st = open_store(store)
    cfg = resolve_pretrain_config(PretrainConfig(
        source=source, out=str(out), store=str(st.path), preset=preset, features=features,
        split=split, max_frames=max_frames, min_frames=min_frames, long_windows=long_windows,
        diffusion_steps=diffusion_steps, dropout=dropout, cfg_drop=cfg_drop, lambda_vel=lambda_vel, augment=augment, x0_skip=x0_skip, snr_weight_cap=snr_weight_cap, lr=lr, weight_decay=weight_decay,
        grad_clip=grad_clip, warmup_steps=warmup_steps, batch_size=batch_size, max_steps=max_steps,
        ema_decay=ema_decay, checkpoint_every=checkpoint_every, seed=seed, device=device, precision=precision,
        **({"text_encoder": text_encoder} if text_encoder else {})))
    check_global_batch(cfg.batch_size, nproc)
    if relaunch_under_torchrun(nproc, what="pretrain"):
        return
    result = run_pretraining(cfg, store=st, resume=resume)
    emit(result.as_dict(), json_output,
         f"trained the prior for {result.steps} steps on {result.items} captioned windows "
         f"({result.seconds_per_step * 1000:.0f} ms/step, {result.parameters:,} parameters, "
         f"final loss {'-' if result.final_loss is None else format(result.final_loss, '.4f')}) -> {result.out}")
