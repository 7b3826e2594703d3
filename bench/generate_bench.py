"""Sampling throughput: clips/s of ``kinemic generate``'s sampler, and scaling with shards.

    python bench/generate_bench.py [--presets small,paper] [--batches 1,16,64] [--clips 64] [--frames 60]
    python bench/generate_bench.py --reference --presets paper --compute-rows 8,64 --precisions fp32,bf16
    python bench/generate_bench.py --shards-only --model RUN_DIR --store STORE   # 1 vs 2 shard processes

``--reference`` compares, in one run, the sampler behind ``kinemic generate`` (DDPM-50,
guidance 2.5, one batch of ``--clips`` clips of ``--frames`` frames, per-clip noise streams,
``--compute-rows`` clips per matrix product, ``--precision``) with a plain reference
sampler written here: the textbook ancestral loop over the whole batch at once, one forward
of the doubled batch for classifier-free guidance, fp32, as MDM's ``p_sample_loop`` does.
It prints clips/s and the ratio to the reference.

Part 1 (in-process, random weights: the speed does not depend on them): DDPM-50 and
DDIM-10/20, each with classifier-free guidance (one batched forward of the conditional and
unconditional halves), at ``--batch-size`` 1/16/64 through the real
:class:`~kinemic_cli.generate.sampler.DiffusionClipSampler` (features -> joints included); peak
RSS per preset from a child process.  Part 2 (with ``--model``): the real CLI, the same
plan made by one process and by two ``--shard i/2`` processes at once, wall time each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

SAMPLERS = (("ddpm", None), ("ddim", 10), ("ddim", 20))


def _sampler(preset: str, options, compute_rows: int = 8):
    import numpy as np

    from kinemic_cli.generate.sampler import DiffusionClipSampler
    from kinemic_cli.models.denoiser import create_denoiser
    from kinemic_cli.motion.features import HumanML3DFeatures, RootRelativeFeatures
    from kinemic_cli.motion.normaliser import Normaliser
    from kinemic_cli.prior.bundle import Prior
    from kinemic_cli.prior.diffusion import CosineSchedule
    from kinemic_cli.skeletons import SMPL22

    space = HumanML3DFeatures(SMPL22) if preset == "paper" else RootRelativeFeatures(SMPL22)
    model = create_denoiser(preset, features=space.dim, text_dim=384)
    model.reset_action_embedding(4)
    bundle = Prior(model=model.eval(), schedule=CosineSchedule(50), features=space, skeleton=SMPL22,
                         normaliser=Normaliser(np.zeros(space.dim, np.float32), np.ones(space.dim, np.float32)),
                         text_encoder=None, text_encoder_name="-", fps=20.0, max_frames=196, preset=preset)
    text = [np.random.default_rng(k).normal(size=(2, 384)).astype(np.float32) for k in range(4)]
    from kinemic_cli.generate.sampler import SamplingOptions

    return DiffusionClipSampler(model, bundle, options=options or SamplingOptions(), skeleton=SMPL22, fps=20.0,
                                class_names=list("abcd"), label_to_class={k: k for k in range(4)}, class_text=text,
                                compute_rows=compute_rows)


def reference_clips_per_s(preset: str, clips: int, frames: int, steps: int = 50, guidance: float = 2.5) -> float:
    """The plain reference: DDPM ancestral sampling of the whole batch at once, fp32, CFG by batch doubling."""
    import math

    import torch

    from kinemic_cli.prior.diffusion import CosineSchedule

    sampler = _sampler(preset, None)
    model, schedule = sampler.model.eval(), CosineSchedule(steps)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(clips, frames, sampler.prior.features.dim, generator=g)
    text = torch.randn(clips, 384, generator=g)
    action = torch.arange(clips) % 4
    keep = torch.cat([torch.ones(clips, dtype=torch.bool), torch.zeros(clips, dtype=torch.bool)])
    start = time.perf_counter()
    with torch.no_grad():
        for t in range(steps - 1, -1, -1):
            tt = torch.full((2 * clips,), t, dtype=torch.long)
            both = model(torch.cat([x, x]), tt, text=torch.cat([text, text]), action=torch.cat([action, action]),
                         text_keep=keep, action_keep=keep)
            x0 = both[clips:] + guidance * (both[:clips] - both[clips:])
            a, a_prev, beta = (float(schedule.alphas_cumprod[t]), float(schedule.alphas_cumprod_prev[t]),
                               float(schedule.betas[t]))
            mean = (math.sqrt(a_prev) * beta / (1 - a)) * x0 + (math.sqrt(1 - beta) * (1 - a_prev) / (1 - a)) * x
            x = mean + (math.sqrt(beta * (1 - a_prev) / (1 - a)) * torch.randn(x.shape, generator=g) if t else 0)
    return clips / (time.perf_counter() - start)


def kinemic_clips_per_s(preset: str, clips: int, frames: int, compute_rows: int, precision: str,
                        compiled: bool = False) -> float:
    import torch

    from kinemic_cli.generate.plan import plan_generation
    from kinemic_cli.generate.sampler import SamplingOptions

    sampler = _sampler(preset, SamplingOptions("ddpm", None, 2.5, precision), compute_rows=compute_rows)
    if compiled:
        sampler.model = torch.compile(sampler.model, dynamic=False)
    plan = plan_generation(counts={k: clips // 4 for k in range(4)}, lengths_per_class={}, seed=0, fixed_length=frames)
    warm = time.perf_counter()
    sampler.sample(plan[:1])  # warm-up (and, compiled, the compilation)
    if compiled:
        print(f"        (compilation and first chunk: {time.perf_counter() - warm:.0f} s)", flush=True)
    start = time.perf_counter()
    sampler.sample(plan)
    return len(plan) / (time.perf_counter() - start)


def run_reference(presets: list[str], clips: int, frames: int, rows: list[int], precisions: list[str],
                  compiled: tuple[bool, ...] = (False,)) -> None:
    print(f"{os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.2f}; {clips} clips of {frames} frames, DDPM-50, "
          "guidance 2.5, one batch")
    print(f"{'preset':7} {'sampler':34} {'clips/s':>8} {'x reference':>11}")
    for preset in presets:
        ref = reference_clips_per_s(preset, clips, frames)
        print(f"{preset:7} {'reference (whole batch, fp32)':34} {ref:8.3f} {1.0:11.2f}", flush=True)
        for precision in precisions:
            for r in rows:
                for c in compiled:
                    ours = kinemic_clips_per_s(preset, clips, frames, r, precision, c)
                    label = f"kinemic rows {r} {precision}" + (" torch.compile" if c else "")
                    print(f"{preset:7} {label:34} {ours:8.3f} {ours / ref:11.2f}", flush=True)


def run_preset(preset: str, batches: list[int], clips: int, frames: int) -> list[dict]:
    from kinemic_cli.generate.plan import length_batches, plan_generation
    from kinemic_cli.generate.sampler import SamplingOptions

    rows = []
    for name, steps in SAMPLERS:
        sampler = _sampler(preset, SamplingOptions(name, steps, 2.5))
        plan = plan_generation(counts={k: clips // 4 for k in range(4)}, lengths_per_class={}, seed=0,
                               fixed_length=frames)
        for batch in batches:
            sampler.sample(plan[:1])  # warm-up
            start = time.perf_counter()
            for group in length_batches(plan, batch):
                sampler.sample(group)
            seconds = time.perf_counter() - start
            rows.append({"preset": preset, "sampler": f"{name}-{len(sampler.sampler.timesteps)}", "batch": batch,
                         "clips_per_s": len(plan) / seconds})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for r in rows:
        r["peak_rss_mib"] = rss
    return rows


def shard_scaling(model: str, store: str, per_class: int) -> None:
    exe = shutil.which("kinemic") or os.path.join(os.path.dirname(sys.executable), "kinemic")
    base = [exe, "generate", "--model", model, "--per-class", str(per_class), "--sampler", "ddim", "--steps", "20",
            "--store", store, "--overwrite", "--json"]
    start = time.perf_counter()
    subprocess.run(base + ["--collection", "bench-one"], check=True, capture_output=True)
    one = time.perf_counter() - start
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(base + ["--shard", f"{i}/2", "--collection", f"bench-shard{i}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
    if any(p.wait() for p in procs):
        raise SystemExit("a shard failed")
    two = time.perf_counter() - start
    print(f"shards: 1 process (2 threads) {one:.1f}s, 2 shard processes (1 thread each) {two:.1f}s "
          f"-> speed-up {one / two:.2f}x (process start-up included)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="small,paper")
    p.add_argument("--batches", default="1,16,64")
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--model", default=None, help="an adapt run folder: also measure shard scaling")
    p.add_argument("--store", default=None)
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--shards-only", action="store_true")
    p.add_argument("--reference", action="store_true", help="compare with a plain reference sampler (see above)")
    p.add_argument("--compute-rows", default="8,64")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--compile", choices=("off", "on", "both"), default="off",
                   help="with --reference: also (or only) measure the denoiser under torch.compile")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.reference:
        run_reference(args.presets.split(","), args.clips, args.frames,
                      [int(r) for r in args.compute_rows.split(",")], args.precisions.split(","),
                      {"off": (False,), "on": (True,), "both": (False, True)}[args.compile])
        return
    batches = [int(b) for b in args.batches.split(",")]
    if args.child:
        print(json.dumps(run_preset(args.child, batches, args.clips, args.frames)))
        return
    if not args.shards_only:
        print(f"{'preset':7} {'sampler':9} {'batch':>5} {'clips/s':>9} {'RSS MiB':>8}   ({args.clips} clips of "
              f"{args.frames} frames, guidance 2.5)")
        for preset in args.presets.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", preset, "--batches", args.batches, "--clips",
                                  str(args.clips), "--frames", str(args.frames)], capture_output=True, text=True,
                                 check=True)
            for r in json.loads(out.stdout.strip().splitlines()[-1]):
                print(f"{r['preset']:7} {r['sampler']:9} {r['batch']:>5} {r['clips_per_s']:>9.2f} "
                      f"{r['peak_rss_mib']:>8.0f}")
    if args.model:
        shard_scaling(args.model, args.store, args.per_class)


if __name__ == "__main__":
    main()
