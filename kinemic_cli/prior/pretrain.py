"""``kinemic pretrain``: train the text-to-motion diffusion prior on a captioned collection.

:func:`run_pretraining` is the whole pipeline behind the command: captioned windows of
the source's training split -> feature statistics -> caption embeddings (cached in the
store) -> AdamW on the masked x0 loss, text dropped with ``cfg_drop`` for classifier-free
guidance -> averaged weights saved as a prior folder (:mod:`kinemic_cli.prior.bundle`).

Resume is bit-identical: the checkpoint holds the weights, their running average, the
optimizer, the step and every RNG state, and no step depends on wall-clock time.
Under ``torchrun`` every process draws the same global batch and trains on its rows
(DistributedDataParallel averages the gradients); only rank 0 writes.  The batch and
diffusion draws come from generators shared by all processes
(:class:`~kinemic_cli.runtime.training_rng.TrainingRandomness`), so a run means the same thing
whatever the number of processes and its checkpoint resumes under any other number.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import KinemicError
from ..models.denoiser import PRESETS, create_denoiser
from ..motion.features import HumanML3DFeatures, bone_lengths, create_feature_space
from ..runtime.distributed import (
    DistContext,
    all_reduce_mean,
    local_batch_size,
    process_group,
    wrap_ddp,
)
from ..runtime.metrics_log import plot_loss_curves
from ..runtime.precision import autocast, check_precision
from ..runtime.provenance import collect_provenance
from ..runtime.training_loop import TrainingRun
from ..runtime.training_rng import TrainingRandomness
from ..store import MotionStore
from ..text import DEFAULT_TEXT_ENCODER, load_text_encoder
from .bundle import Prior, save_prior
from .diffusion import CosineSchedule
from .ema import WeightAverage
from .losses import VelocityTerm, masked_mse_per_sample, snr_step_weights
from .pretrain_data import ClipFeatureBank, PostureAugment, captioned_windows, draw_batch, fit_normaliser

__all__ = ["PretrainConfig", "PretrainResult", "resolve_pretrain_config", "run_pretraining", "PRESET_TRAINING"]

COLUMNS = ("step", "loss", "rec", "vel", "lr")
#: Per-preset training defaults (``--lr`` / ``--max-steps`` / ``--batch-size`` override).
PRESET_TRAINING: dict[str, dict[str, float]] = {
    "tiny": {"lr": 1e-3, "max_steps": 300, "batch_size": 32},
    "small": {"lr": 4e-4, "max_steps": 4000, "batch_size": 64},
    "paper": {"lr": 1e-4, "max_steps": 600_000, "batch_size": 64},
}
RESUME_FREE_KEYS = {"max_steps", "device", "checkpoint_every", "out", "store"}


@dataclass
class PretrainConfig:
    """Everything that decides the numbers of a pretraining run (saved as ``config.json``)."""

    source: str
    out: str
    store: str | None = None
    preset: str = "small"
    features: str = "rootrel"
    text_encoder: str = DEFAULT_TEXT_ENCODER
    split: str | None = "train"
    max_frames: int = 196
    min_frames: int = 8
    long_windows: str = "crop"
    diffusion_steps: int = 50
    dropout: float | None = None
    cfg_drop: float = 0.1
    lambda_vel: float = 0.0
    augment: float = 0.0
    x0_skip: bool = False
    snr_weight_cap: float = 0.0
    lr: float | None = None
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    warmup_steps: int = 100
    batch_size: int | None = None
    max_steps: int | None = None
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    seed: int = 0
    device: str = "cpu"
    precision: str = "fp32"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PretrainResult:
    out: str
    steps: int
    resumed_from: int
    final_loss: float | None
    parameters: int
    items: int
    seconds: float
    seconds_per_step: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def resolve_pretrain_config(config: PretrainConfig) -> PretrainConfig:
    """Check the config and fill lr / max_steps / batch size from the preset where unset (a new object)."""
    config = replace(config)
    if config.preset not in PRESETS:
        raise KinemicError(f"--preset must be one of {', '.join(PRESETS)}, got {config.preset!r}")
    defaults = PRESET_TRAINING[config.preset]
    config.lr = float(config.lr if config.lr is not None else defaults["lr"])
    config.max_steps = int(config.max_steps if config.max_steps is not None else defaults["max_steps"])
    config.batch_size = int(config.batch_size if config.batch_size is not None else defaults["batch_size"])
    check_precision(config.precision)
    checks = [
        (config.max_steps >= 1, f"--max-steps must be at least 1, got {config.max_steps}"),
        (config.batch_size >= 1, f"--batch-size must be at least 1, got {config.batch_size}"),
        (config.lr > 0, f"--lr must be positive, got {config.lr}"),
        (config.max_frames >= config.min_frames >= 2, "--max-frames must be at least --min-frames (>= 2)"),
        (config.diffusion_steps >= 2, f"--diffusion-steps must be at least 2, got {config.diffusion_steps}"),
        (0.0 <= config.cfg_drop < 1.0, f"--cfg-drop must be in [0, 1), got {config.cfg_drop}"),
        (config.lambda_vel >= 0, f"--lambda-vel must not be negative, got {config.lambda_vel}"),
        (config.snr_weight_cap == 0 or config.snr_weight_cap >= 1,
         f"--snr-weight-cap must be 0 (off) or at least 1, got {config.snr_weight_cap}"),
        (0.0 <= config.augment <= 1.0, f"--augment must be in [0, 1], got {config.augment}"),
        (config.dropout is None or 0.0 <= config.dropout < 1.0, f"--dropout must be in [0, 1), got {config.dropout}"),
        (0.0 <= config.ema_decay < 1.0, f"--ema-decay must be in [0, 1), got {config.ema_decay}"),
        (config.long_windows in ("crop", "skip"), f"--long-windows must be crop or skip, got {config.long_windows!r}"),
        (config.checkpoint_every >= 1, f"--checkpoint-every must be at least 1, got {config.checkpoint_every}"),
    ]
    for ok, message in checks:
        if not ok:
            raise KinemicError(message)
    return config


def _spread(clips: np.ndarray, most: int) -> np.ndarray:
    """At most ``most`` clips spread evenly over ``clips`` (a deterministic sample for statistics)."""
    return clips[:: max(1, len(clips) // most)][:most]


def _learning_rate(config: PretrainConfig, step: int) -> float:
    return config.lr * min(1.0, (step + 1) / max(1, config.warmup_steps))


def run_pretraining(config: PretrainConfig, *, store: MotionStore, resume: bool = False) -> PretrainResult:
    started = time.perf_counter()
    with process_group(config.device) as ctx:
        return _run(config, store, resume, ctx, started)


def _run(config: PretrainConfig, store: MotionStore, resume: bool, ctx: DistContext, started: float) -> PretrainResult:
    out = Path(config.out)
    local_batch_size(config.batch_size, ctx)  # the global batch must split evenly over the processes
    run = TrainingRun(out, name=f"pretrain ({config.preset})", ctx=ctx, resume=resume, config=config.as_dict(),
                      free_keys=RESUME_FREE_KEYS,
                      absent_means={"augment": 0.0, "x0_skip": False, "snr_weight_cap": 0.0})
    if not store.has(config.source):
        raise KinemicError(f"--source: no collection {config.source!r} in {store.path} (see `kinemic store ls`)")
    source = store.collection(config.source)
    if source.kind != "t2m":
        raise KinemicError(f"--source: collection {config.source!r} is of kind {source.kind!r}, not a captioned t2m corpus")
    if source.skeleton.is_2d:
        raise KinemicError(f"--source: collection {config.source!r} has 2D skeleton {source.skeleton.name!r}; "
                           "the prior needs 3D joints")
    if config.split and config.split in source.split_names():
        clips = np.asarray(source.split(config.split), dtype=np.int64)
    elif config.split and config.split != "train":
        raise KinemicError(f"--split {config.split!r}: collection {config.source!r} has splits {source.split_names()}")
    else:
        clips = np.arange(len(source), dtype=np.int64)

    features = create_feature_space(config.features, source.skeleton)
    if isinstance(features, HumanML3DFeatures) and "hml263" in source.frame_data_names() and len(source):
        # a HumanML3D-layout corpus: its processed joints all carry its reference body, which
        # target clips are retargeted to (as HumanML3D retargets every clip)
        features = HumanML3DFeatures(source.skeleton, bone_lengths=bone_lengths(source.frames(0)[:, 0], source.skeleton))
    items = captioned_windows(source, clips, min_frames=config.min_frames,
                              max_frames=config.max_frames if config.long_windows == "skip" else None)
    bank = ClipFeatureBank(source, features, clips)
    augment = PostureAugment(bank, config.augment) if config.augment > 0 else None
    normaliser = fit_normaliser(bank, clips, augment)
    velocity = VelocityTerm.for_clips([normaliser.normalise(bank.get(int(c))) for c in _spread(clips, 400)],
                                      features, normaliser, config.lambda_vel)
    encoder = load_text_encoder(config.text_encoder, device="cpu").use_store_cache(store)
    text_table = encoder.encode(items.texts)

    torch.manual_seed(config.seed)
    overrides = {"x0_skip": config.x0_skip, **({} if config.dropout is None else {"dropout": float(config.dropout)})}
    model = create_denoiser(config.preset, features=features.dim, text_dim=encoder.dim, **overrides).to(ctx.device)
    randomness = TrainingRandomness(config.seed, ctx)
    # no actions before adaptation: the (null-only) action table takes no part in pretraining,
    # and DDP needs every trainable parameter to receive a gradient
    model.action_embed.requires_grad_(False)
    schedule = CosineSchedule(config.diffusion_steps)
    model.use_schedule(schedule.alphas_cumprod)
    step_weight = (snr_step_weights(schedule.snr(), config.snr_weight_cap).to(ctx.device)
                   if config.snr_weight_cap else None)
    average = WeightAverage(model, config.ema_decay)
    trained = wrap_ddp(model, ctx)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    provenance = collect_provenance("pretrain", config.as_dict(), inputs=[str(store.path)], seed=config.seed,
                                    source_collection=config.source, items=len(items), world_size=ctx.world_size)

    state, start = run.restore(randomness)
    if state is not None:
        model.load_state_dict(state["model"])
        average.load_state_dict(state["average"])
        optimizer.load_state_dict(state["optimizer"])
    run.save_config(config.as_dict(), provenance)

    def step(index: int) -> dict[str, float]:
        model.train()
        batch = draw_batch(randomness.numpy, items, bank, normaliser, text_table, batch_size=config.batch_size,
                           max_frames=config.max_frames, rank=ctx.rank, world_size=ctx.world_size, augment=augment)
        x, mask, text = batch["x"].to(ctx.device), batch["mask"].to(ctx.device), batch["text"].to(ctx.device)
        # draws for the global batch (same on every process), then this process's rows
        shared = randomness.shared
        t = torch.randint(0, schedule.num_steps, (config.batch_size,), generator=shared)
        noise = torch.randn(config.batch_size, x.shape[1], x.shape[2], generator=shared)
        keep = torch.rand(config.batch_size, generator=shared) >= config.cfg_drop
        rows = slice(ctx.rank, config.batch_size, ctx.world_size)
        t_rows = t[rows].to(ctx.device)
        with autocast(ctx.device, config.precision):
            prediction = trained(schedule.add_noise(x, t_rows, noise[rows].to(ctx.device)), t_rows, mask=mask,
                                 text=text, text_keep=keep[rows].to(ctx.device)).float()
        rec = masked_mse_per_sample(prediction, x, mask)
        rec = (rec if step_weight is None else rec * step_weight[t_rows]).mean()
        vel = velocity(prediction, x, mask)
        loss = rec + config.lambda_vel * vel
        lr = _learning_rate(config, index)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        average.update(model)
        logged = all_reduce_mean(torch.stack([loss.detach(), rec.detach(), vel.detach()]), ctx).tolist()
        return {"loss": logged[0], "rec": logged[1], "vel": logged[2], "lr": lr}

    done = run.loop(step, start=start, max_steps=config.max_steps, checkpoint_every=config.checkpoint_every,
                    randomness=randomness, columns=COLUMNS, shown=("loss",),
                    state_fn=lambda: {"model": model.state_dict(), "average": average.state_dict(),
                                      "optimizer": optimizer.state_dict()})
    if ctx.is_main:
        model.load_state_dict(average.averaged_state(model))
        bundle = Prior(model=model, schedule=schedule, normaliser=normaliser, skeleton=source.skeleton,
                             features=features, text_encoder=encoder, text_encoder_name=config.text_encoder,
                             fps=float(source.fps), max_frames=config.max_frames, preset=config.preset,
                             source_collection=config.source)
        save_prior(out, bundle, provenance={**provenance, "steps": done.step})
        plot_loss_curves(out / "metrics.csv", out / "loss_curve.png", title=f"kinemic pretrain ({config.preset})")
    source.close()
    # no loss when a resumed run had no step left to do
    return PretrainResult(str(out), done.step, start if run.resumed else 0, done.last.get("loss"),
                          sum(p.numel() for p in model.parameters()), len(items), time.perf_counter() - started,
                          done.seconds_per_step)
