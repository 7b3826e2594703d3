"""``kinemic adapt``: distil the text-to-motion prior into a few-shot action-to-motion generator.

:func:`run_adaptation` is the whole pipeline behind the command: few-shot split ->
soft-positive mining (KineMIC only) -> student (frozen prior + LoRA + new action table,
or the full model for ``finetune``) -> training loop -> run folder.  The loop is short on
purpose: the losses come from :class:`~kinemic_cli.adapt.losses.AdaptObjective`, the
batches from :class:`~kinemic_cli.adapt.data.BatchSampler`, the files from
:mod:`~kinemic_cli.adapt.outputs` and :mod:`~kinemic_cli.adapt.student`.

Resume is bit-identical: the checkpoint holds the trainable tensors, the optimizer, the
MIC module, the memory bank, the step and every RNG state (torch and the numpy batch
Generator), and nothing in a step depends on wall-clock time.

Under ``torchrun`` every process draws the same global batch and keeps its rows, DDP wraps
the whole objective (LoRA, action table, MIC), the contrastive candidates are gathered
over processes, and only rank 0 writes the run folder; the checkpoint holds unwrapped
states and the shared RNG states, so it resumes under any number of processes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import KinemicError
from ..prior.bundle import Prior, load_prior
from ..prior.losses import VelocityTerm
from ..runtime.atomic import atomic_write_text
from ..runtime.distributed import (
    DistContext,
    all_reduce_mean,
    process_group,
    resolve_device,
    wrap_ddp,
)
from ..runtime.metrics_log import plot_loss_curves
from ..runtime.precision import autocast
from ..runtime.provenance import collect_provenance
from ..runtime.training_loop import TrainingRun
from ..runtime.training_rng import TrainingRandomness
from ..store import MotionStore
from ..store.splits import fewshot_identity, make_fewshot_split
from .config import RESUME_ABSENT_MEANS, RESUME_FREE_KEYS, AdaptConfig
from .data import BatchSampler, FewShotClips, load_fewshot_clips, prepare_joints, prepared_length
from .kinematic import WindowMotion, kinematic_scores_and_margins, pace_factors
from .losses import AdaptBatch, AdaptObjective, LossSwitches, shot_feature_weights
from .mining import MiningResult, class_captions, dataset_class_captions, load_class_captions_file, mine_soft_positives
from .outputs import METRIC_COLUMNS, render_mined_windows
from .shot_augment import with_augmented_copies
from .student import adapt_optimizer, build_student, save_adapted

__all__ = ["AdaptResult", "run_adaptation", "mine_for_run", "show_mining"]

@dataclass
class AdaptResult:
    out: str
    method: str
    steps: int
    resumed_from: int
    final_losses: dict[str, float]
    trainable_parameters: int
    classes: list[str]
    shots: int
    seconds: float
    seconds_per_step: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _target_classes(coll, labels: np.ndarray) -> tuple[list[int], list[str]]:
    present = sorted(set(int(v) for v in labels))
    return present, [coll.class_names[c] if c < len(coll.class_names) else f"class{c}" for c in present]


def mine_for_run(config: AdaptConfig, store: MotionStore, prior: Prior, class_names: list[str],
                 shots: FewShotClips, class_ids: np.ndarray) -> MiningResult:
    """Class captions (template or file), the top-k source windows of every class, and their motion scores.

    Every mined window is also scored by how it moves against the shots of its class
    (:mod:`~kinemic_cli.adapt.kinematic`); ``--kinematic-gate`` > 0 keeps only windows that
    reach it, 0 keeps them all (the paper) and the scores are only reported.  With
    ``--kinematic-rerank N`` the N best windows by caption are re-ranked by caption
    similarity plus motion margin (how much closer a window moves to its class's shots than
    to any other class's) and the best ``--top-k`` of them kept.  With
    ``--pace-match`` each window also gets the play-speed factor that brings it to the pace
    of its class's shots, and is re-timed by it whenever it is drawn.
    """
    captions = _class_captions(config, store, class_names, shots)
    source_name = config.source or prior.source_collection
    if not source_name:
        raise KinemicError("--source: the prior does not record its training collection; name the captioned source collection")
    if not store.has(source_name):
        how = (f"run `kinemic prepare --dataset {source_name} --store {store.path}` first (the prior was trained on "
               "it and KineMIC mines it)" if not config.source else "prepare it, or name another one")
        raise KinemicError(f"--source: no collection {source_name!r} in {store.path}; {how}")
    pool = max(config.top_k, config.kinematic_rerank)
    with store.collection(source_name) as source:
        if source.kind != "t2m":
            raise KinemicError(f"--source: collection {source_name!r} is of kind {source.kind!r}, not a captioned t2m corpus")
        mining = mine_soft_positives(source, class_names, prior.encode_text, top_k=pool, captions=captions)

        def window_joints(candidate: int) -> np.ndarray:
            clip, start, end = (int(v) for v in mining.candidates.windows[candidate])
            return prepare_joints(source.frames(clip)[start:end], skeleton=source.skeleton, fps=source.fps,
                                  prior_skeleton=prior.skeleton, prior_fps=prior.fps, max_frames=prior.max_frames,
                                  where=f"source {source.name!r} clip {source.sample_ids[clip]}")

        windows = WindowMotion(window_joints, prior.skeleton, prior.fps)  # each window read once
        scores, margins = kinematic_scores_and_margins(mining.neighbours, shots.joints, class_ids, windows,
                                                       skeleton=prior.skeleton, fps=prior.fps)
        if config.kinematic_rerank:
            kept = mining.rerank(mining.similarities + margins, config.top_k)
            scores, margins = np.take_along_axis(scores, kept, axis=1), np.take_along_axis(margins, kept, axis=1)
        mining.margin = margins
        if config.pace_match:
            mining.pace = pace_factors(mining.neighbours, shots.joints, class_ids, windows,
                                       skeleton=prior.skeleton, fps=prior.fps)
    mining.gate(scores, config.kinematic_gate)
    return mining


def _class_captions(config: AdaptConfig, store: MotionStore, class_names: list[str],
                    shots: FewShotClips) -> list[list[str]]:
    """``--class-captions`` first, then what the target dataset says (natural or per-clip captions), then the template."""
    overrides = load_class_captions_file(config.class_captions) if config.class_captions else None
    with store.collection(config.collection or config.dataset) as coll:
        defaults = dataset_class_captions(coll, shots.indices)
    return class_captions(class_names, overrides, template=config.caption_template, defaults=defaults)


def _load_shots(coll, shot_indices: np.ndarray, prior: Prior) -> tuple[list[int], list[str], FewShotClips, np.ndarray]:
    """The shots on the prior's skeleton and fps, their classes (labels, names) and each shot's class index."""
    labels_present, class_names = _target_classes(coll, coll.labels[shot_indices])
    shots = load_fewshot_clips(coll, shot_indices, prior_skeleton=prior.skeleton, prior_fps=prior.fps,
                               max_frames=prior.max_frames, to_features=prior.to_features,
                               stored=prior.stored_features)
    class_of_label = {label: k for k, label in enumerate(labels_present)}
    class_ids = np.array([class_of_label[int(v)] for v in shots.labels], dtype=np.int64)
    return labels_present, class_names, shots, class_ids


def show_mining(config: AdaptConfig, *, store: MotionStore, show: int = 5, prior: Prior | None = None) -> dict:
    """Mine without training (``--show-mining``): the report, also saved to ``--out`` if given."""
    prior = prior or load_prior(config.prior, resolve_device(config.device), store=store)
    collection = config.collection or config.dataset
    _, shot_indices = make_fewshot_split(store, collection, shots=config.shots, seed=config.fewshot_seed,
                                         protocol=config.protocol)
    with store.collection(collection) as coll:
        _, class_names, shots, class_ids = _load_shots(coll, shot_indices, prior)
    mining = mine_for_run(config, store, prior, class_names, shots, class_ids)
    report = mining.report(sample_ids=_source_ids(store, mining))
    if config.out:
        atomic_write_text(Path(config.out) / "mining.json", json.dumps(report, indent=1))
    for entry in report["classes"]:
        entry["neighbours"] = entry["neighbours"][:show]
    return report


def run_adaptation(config: AdaptConfig, *, store: MotionStore, resume: bool = False,
                   prior: Prior | None = None) -> AdaptResult:
    """Adapt on this process, or on every process of a ``torchrun`` group (only rank 0 writes)."""
    started = time.perf_counter()
    with process_group(config.device) as ctx:
        return _run(config, store, resume, prior, ctx, started)


def _global_batch(sampler: BatchSampler, config: AdaptConfig, ctx: DistContext) -> int:
    size = sampler.global_batch
    if size % ctx.world_size:
        fewer = f" (all {size} shots: fewer than --batch-size {config.batch_size})" if size < config.batch_size else ""
        raise KinemicError(f"--batch-size: the global batch of {size} clips{fewer} must be divisible by the "
                           f"{ctx.world_size} processes")
    return size


def _run(config: AdaptConfig, store: MotionStore, resume: bool, prior: Prior | None, ctx: DistContext,
         started: float) -> AdaptResult:
    out = Path(config.out)
    device = ctx.device
    prior = prior or load_prior(config.prior, device, store=store)
    run = TrainingRun(out, name=f"adapt ({config.method})", ctx=ctx, resume=resume, config=config.as_dict(),
                      free_keys=RESUME_FREE_KEYS, absent_means=RESUME_ABSENT_MEANS)

    collection = config.collection or config.dataset
    split_name, shot_indices = make_fewshot_split(store, collection, shots=config.shots, seed=config.fewshot_seed,
                                                  protocol=config.protocol, record=ctx.is_main)
    fewshot = fewshot_identity(store, collection, split_name, shot_indices, shots=config.shots,
                               seed=config.fewshot_seed)
    coll = store.collection(collection)
    _, class_names, shots, class_ids = _load_shots(coll, shot_indices, prior)

    mining = mine_for_run(config, store, prior, class_names, shots, class_ids) if config.method == "kinemic" else None
    if mining is not None:
        if ctx.is_main:
            atomic_write_text(out / "mining.json", json.dumps(mining.report(sample_ids=_source_ids(store, mining)),
                                                              indent=1))
        class_text = mining.class_caption_embeddings
        captions = mining.class_captions
    else:
        captions = _class_captions(config, store, class_names, shots)
        class_text = [_unit(prior.encode_text(c)) for c in captions]

    provenance = collect_provenance("adapt", config.as_dict(), inputs=[str(store.path), config.prior],
                                    seed=config.seed, fewshot_split=split_name, prior_hash=prior.weights_sha256,
                                    world_size=ctx.world_size)
    run.save_config(config.as_dict(), provenance)

    torch.manual_seed(config.seed)
    student = build_student(prior, config, num_classes=len(class_names))
    randomness = TrainingRandomness(config.seed, ctx)
    optimizer = adapt_optimizer(student, config)
    objective = AdaptObjective(
        prior.model, add_noise=prior.add_noise, num_timesteps=prior.num_timesteps, lora=student.lora, mic=student.mic,
        memory_bank=student.memory_bank, mining=mining is not None,
        switches=LossSwitches(**{name: getattr(config, name) for name in LossSwitches.__dataclass_fields__}),
        generator=randomness.shared, ctx=ctx,
        velocity=VelocityTerm.for_clips(shots.features, prior.features, prior.normaliser, config.lambda_vel),
        snr=prior.schedule.snr(),
        feature_weight=shot_feature_weights(shots.features) if config.feature_balance else None)
    source_coll = store.collection(mining.candidates.collection) if mining is not None else None
    train_shots, train_class_ids = with_augmented_copies(shots, class_ids, config.augment_shots, seed=config.seed,
                                                         max_frames=prior.max_frames, to_features=prior.to_features)
    sampler = BatchSampler(
        train_shots, train_class_ids, class_text, batch_size=config.batch_size, rng=randomness.numpy, mining=mining,
        source=source_coll,
        source_prepare=lambda frames, where: prepare_joints(
            frames, skeleton=source_coll.skeleton, fps=source_coll.fps, prior_skeleton=prior.skeleton,
            prior_fps=prior.fps, max_frames=prior.max_frames, where=where),
        source_length=lambda frames: prepared_length(frames, fps=source_coll.fps, prior_fps=prior.fps,
                                                     max_frames=prior.max_frames),
        to_features=prior.to_features, rank=ctx.rank, world_size=ctx.world_size,
        source_stored=prior.stored_features)
    _global_batch(sampler, config, ctx)
    # the whole step under DDP; without L_con the MIC module gets no gradient
    step_module = wrap_ddp(objective, ctx, find_unused=mining is not None and not config.contrastive)

    state, start = run.restore(randomness)
    if state is not None:
        student.load_training_state(state["student"])
        optimizer.load_state_dict(state["optimizer"])

    def step(_: int) -> dict[str, float]:
        student.train()
        drawn = sampler.draw()
        batch = AdaptBatch(**{k: v for k, v in drawn.items() if k in AdaptBatch.__dataclass_fields__}).to(device)
        with autocast(device, config.precision):
            terms = step_module(batch)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(student.trainable_parameters(), config.grad_clip)
        optimizer.step()
        return {**_mean_terms(terms, ctx), "lr": config.lr}

    done = run.loop(step, start=start, max_steps=config.max_steps, checkpoint_every=config.checkpoint_every,
                    randomness=randomness, columns=METRIC_COLUMNS, shown=("total", "rec", "vel", "con", "win"),
                    state_fn=lambda: {"student": student.training_state(), "optimizer": optimizer.state_dict()},
                    meta={"method": config.method})

    if ctx.is_main:
        save_adapted(out, student, prior=prior, config=config, class_names=class_names, captions=captions,
                     class_text=class_text, shots=shots, class_ids=class_ids, collection=coll, fewshot=fewshot)
        plot_loss_curves(out / "metrics.csv", out / "loss_curve.png", title=f"kinemic adapt ({config.method})")
        _render_mining_gif(out, prior, shots, class_ids, class_names, sampler, mining)
    coll.close()
    if source_coll is not None:
        source_coll.close()
    losses = {k: v for k, v in done.last.items() if k != "lr"}
    return AdaptResult(str(out), config.method, done.step, start if run.resumed else 0, losses,
                       student.trainable_count(), class_names, config.shots, time.perf_counter() - started,
                       done.seconds_per_step)


def _mean_terms(terms: dict[str, torch.Tensor], ctx: DistContext) -> dict[str, float]:
    """Each loss term averaged over processes (equal local batches: the global batch's value)."""
    keys = sorted(terms)
    values = all_reduce_mean(torch.stack([terms[k].detach().float() for k in keys]), ctx)
    return {k: float(v) for k, v in zip(keys, values.cpu())}


def _source_ids(store: MotionStore, mining: MiningResult):
    with store.collection(mining.candidates.collection) as src:
        return list(src.sample_ids)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _render_mining_gif(out: Path, prior: Prior, shots, class_ids, class_names, sampler, mining) -> None:
    """Per class (up to 8): one real shot beside the two best mined source windows."""
    clips, titles = [], []
    for k, name in enumerate(class_names[:8]):
        first = int(np.flatnonzero(class_ids == k)[0])
        clips.append(shots.joints[first])
        titles.append(f"{name[:14]} real")
        if mining is not None:
            for j in range(min(2, mining.neighbours.shape[1])):
                clips.append(sampler.source_window_joints(int(mining.neighbours[k, j])))
                titles.append(f"mined {j + 1} ({mining.similarities[k, j]:.2f})")
    render_mined_windows(out / "mined_windows.gif", prior.skeleton, clips, titles, fps=prior.fps,
                         columns=3 if mining is not None else 4)
