"""``kinemic generate``: synthetic clips from an adapted model (or text prompts from a prior) into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import KinemicError
from ._common import (
    ConfigOpt,
    DeviceOpt,
    JsonOpt,
    PrecisionOpt,
    ResumeOpt,
    SeedOpt,
    StoreOpt,
    command,
    emit,
    open_store,
)


@command
def generate(
    model: Annotated[Optional[str], typer.Option("--model", help="An `adapt` run folder, or a prior folder / builtin:NAME for --text prompts.")] = None,
    per_class: Annotated[Optional[int], typer.Option("--per-class", help="Clips per adapted class.")] = None,
    oversample: Annotated[Optional[float], typer.Option("--oversample", help="Clips per class = F x the few-shot clips of that class.")] = None,
    counts: Annotated[Optional[Path], typer.Option("--counts", help="CSV (class,count lines) or YAML (class: count) of clips per class.")] = None,
    classes: Annotated[Optional[str], typer.Option("--classes", "--class", help="Comma-separated adapted classes (names or dataset ids); default all.")] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="Free-text prompt (alone with a prior; with --class, composed with the action).")] = None,
    n: Annotated[Optional[int], typer.Option("--n", help="With a prior and --text: how many clips.")] = None,
    length: Annotated[Optional[int], typer.Option("--length", help="Force every clip to this many frames (prior's fps); default: drawn from the few-shot lengths.")] = None,
    sampler: Annotated[str, typer.Option("--sampler", help="ddpm (every trained step) or ddim (--steps).")] = "ddpm",
    steps: Annotated[Optional[int], typer.Option("--steps", help="Sampling steps for ddim (default 20).")] = None,
    from_shots: Annotated[Optional[float], typer.Option("--from-shots", help="Start each clip from a real shot of its class noised to this fraction of the schedule (SDEdit; 1 = all noise): keeps the shot's timing, varies the rest. Default: from pure noise.")] = None,
    guidance: Annotated[Optional[float], typer.Option("--guidance", help="Classifier-free guidance scale (1 = none); default 1.5 for an adapted model (chosen with the shots' recogniser), 2.5 for a --text prompt (MDM's).")] = None,
    guidance_above: Annotated[float, typer.Option("--guidance-above", help="Guide only the steps above this fraction of the noise schedule (where the class is decided); below it the conditional prediction alone, which keeps motion. Default 0: every step.")] = 0.0,
    smooth: Annotated[float, typer.Option("--smooth", help="Low-pass the generated joints over time (Gaussian sigma, seconds). Students of an x0-skip prior leave the last steps' noise as jitter; 0.05 brings it to tracked clips' level. Default 0: off.")] = 0.0,
    shot_guidance: Annotated[float, typer.Option("--shot-guidance", help="Mix each step's prediction with the shots' own denoiser (the posterior mean of the clip under its class's shots) at this weight: 0 = off, 1 = reproduce shots. Keeps classes the source corpus lacks.")] = 0.0,
    shot_guidance_above: Annotated[float, typer.Option("--shot-guidance-above", help="Apply --shot-guidance only at the steps above this fraction of the noise schedule, so the student finishes each clip itself instead of the nearest shot (for students of an x0-skip prior). Default 0: every step.")] = 0.0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Clips sampled together (does not change any clip).")] = 16,
    compute_rows: Annotated[int, typer.Option("--compute-rows", min=1, help="CPU: clips per matrix product; clips are bit-identical for a given value whatever --batch-size, --shard or processes (recorded in the collection). Larger is faster per clip.")] = 8,
    commit_every: Annotated[int, typer.Option("--commit-every", help="Clips per durable part: a killed run loses at most this many.")] = 256,
    shard: Annotated[Optional[str], typer.Option("--shard", help="i/n: make only part i of n (the union of parts is the whole run).")] = None,
    collection: Annotated[Optional[str], typer.Option("--collection", help="Collection to write (default: <target>-synth-<method>-s<seed> for an adapted model, prompt-s<seed> for --prompt).")] = None,
    store: StoreOpt = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    precision: PrecisionOpt = "fp32",
    resume: ResumeOpt = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing collection of that name.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also render the first clips to this GIF.")] = None,
    config: ConfigOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Generate synthetic clips into a store collection (reproducible per clip, shardable, resumable)."""
    if not model:
        raise KinemicError("--model is required (an `adapt` run folder, or a prior with --text)")
    if sum(v is not None for v in (per_class, oversample, counts)) > 1:
        raise KinemicError("give only one of --per-class, --oversample, --counts")
    from ..generate.run import GenerateRequest, run_generate

    request = GenerateRequest(
        model=model, collection=collection, per_class=per_class, oversample=oversample,
        counts_file=None if counts is None else str(counts),
        classes=[c for c in classes.split(",") if c.strip()] if classes else None, text=text, n=n, length=length,
        sampler=sampler, steps=steps, guidance=guidance, guidance_above=guidance_above, shot_guidance=shot_guidance, shot_guidance_above=shot_guidance_above, smooth=smooth, from_shots=from_shots, precision=precision, seed=seed, batch_size=batch_size, compute_rows=compute_rows,
        device=device, shard=shard,
        resume=resume, overwrite=overwrite, commit_every=commit_every, gif=None if out is None else str(out))
    result = run_generate(request, store=open_store(store))
    per_class = ", ".join(f"{k} {v}" for k, v in result["per_class"].items())
    emit(result, json_output, f"generated {result['clips']} clips into {result['collection']} "
                              f"(shard {result['shard']}, {result['seconds']:.1f}s): {per_class}"
                              + (f"; rendered {result['gif']}" if "gif" in result else ""))
