"""Step time, FLOPs, peak RSS and trainable parameters of kinemic vs finetune vs lora adaptation.

    python bench/adapt_bench.py [--steps 4] [--presets small,paper]  (OMP_NUM_THREADS=N sets the threads)

Beside each step time: the step's floating-point work (forward + backward, counted by
``torch.utils.flop_counter`` on one extra step) and both as a multiple of the LoRA step of
the same preset.  The FLOP multiple is the floor a cheaper *implementation* of the same
maths can reach: a KineMIC step also runs the frozen prior over the source clips and the
student over the windows, which LoRA does not.

Each (preset, method) runs in its own process so its peak RSS is its own.  Batch 30,
target clips of 60 frames, mined source clips of 150 frames, 263-d features (HumanML3D),
384-d text embeddings.  The backbone is the real ``kinemic_cli.models.denoiser`` at the
named preset (paper: D=512, 8 layers, 4 heads, FF 1024).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

FEATURES, TEXT_DIM, BATCH, TARGET_T, SOURCE_T, CLASSES = 263, 384, 30, 60, 150, 10
PRECISION = "fp32"


def _backbone(preset: str):
    from kinemic_cli.models.denoiser import create_denoiser

    model = create_denoiser(preset, features=FEATURES, text_dim=TEXT_DIM)
    return model, model.latent_dim, f"kinemic_cli.models.denoiser ({preset})"


def run_one(preset: str, method: str, steps: int) -> dict:
    import numpy as np
    import torch

    from kinemic_cli.adapt.config import AdaptConfig, resolve_adapt_config
    from kinemic_cli.adapt.losses import AdaptBatch, AdaptObjective, LossSwitches
    from kinemic_cli.adapt.student import build_student
    from kinemic_cli.motion.features import HumanML3DFeatures
    from kinemic_cli.motion.normaliser import Normaliser
    from kinemic_cli.prior.bundle import Prior
    from kinemic_cli.prior.diffusion import CosineSchedule
    from kinemic_cli.runtime.precision import autocast
    from kinemic_cli.skeletons import SMPL22

    torch.manual_seed(0)
    model, latent, backbone = _backbone(preset)
    space = HumanML3DFeatures(SMPL22)  # 263 = FEATURES
    handle = Prior(model=model, schedule=CosineSchedule(50), skeleton=SMPL22, features=space,
                   normaliser=Normaliser(np.zeros(space.dim, np.float32), np.ones(space.dim, np.float32)),
                   text_encoder=None, text_encoder_name="-", fps=20.0, max_frames=196, preset=preset)
    config = resolve_adapt_config(AdaptConfig(dataset="bench", prior="-", method=method), preset=preset)
    student = build_student(handle, config, num_classes=CLASSES)
    optimizer = torch.optim.AdamW(student.trainable_parameters(), lr=config.lr, weight_decay=config.weight_decay)
    objective = AdaptObjective(model, add_noise=handle.add_noise, num_timesteps=50, switches=LossSwitches(),
                               lora=student.lora, mic=student.mic, memory_bank=student.memory_bank,
                               mining=method == "kinemic")
    g = torch.Generator().manual_seed(0)
    batch = AdaptBatch(target=torch.randn(BATCH, TARGET_T, FEATURES, generator=g),
                       target_mask=torch.ones(BATCH, TARGET_T, dtype=torch.bool),
                       labels=torch.arange(BATCH) % CLASSES, class_text=torch.randn(BATCH, TEXT_DIM, generator=g),
                       source=torch.randn(BATCH, SOURCE_T, FEATURES, generator=g),
                       source_mask=torch.ones(BATCH, SOURCE_T, dtype=torch.bool),
                       source_text=torch.randn(BATCH, TEXT_DIM, generator=g))
    times = []
    for i in range(steps + 1):  # first step is warm-up
        start = time.perf_counter()
        student.train()
        with autocast("cpu", PRECISION):
            terms = objective(batch)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(student.trainable_parameters(), 1.0)
        optimizer.step()
        if i:
            times.append(time.perf_counter() - start)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        with autocast("cpu", PRECISION):
            terms = objective(batch)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
    total = sum(p.numel() for p in model.parameters())
    return {"preset": preset, "method": method, "backbone": backbone, "step_s": sum(times) / len(times),
            "gflop": counter.get_total_flops() / 1e9,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "trainable": student.trainable_count(), "base_params": total, "torch_threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--presets", default="small,paper")
    parser.add_argument("--methods", default="kinemic,finetune,lora")
    parser.add_argument("--precision", default="fp32", help="fp32 or bf16 (autocast)")
    parser.add_argument("--one", nargs=2, metavar=("PRESET", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    global PRECISION
    PRECISION = args.precision
    if args.one:
        print(json.dumps(run_one(*args.one, args.steps)))
        return
    print(f"batch {BATCH}, target {TARGET_T} frames, source {SOURCE_T} frames, {FEATURES}-d features, "
          f"{os.cpu_count()} CPU cores")
    print(f"load {os.getloadavg()[0]:.2f}; times and work as a multiple of the LoRA step of the same preset")
    print(f"{'preset':7} {'method':9} {'step s':>8} {'x lora':>7} {'GFLOP':>8} {'x lora':>7} {'peak RSS MB':>12} "
          f"{'trainable':>12} {'base params':>12}  backbone")
    methods = args.methods.split(",")
    order = ["lora"] + [m for m in methods if m != "lora"] if "lora" in methods else methods
    for preset in args.presets.split(","):
        found = {}
        for method in order:
            proc = subprocess.run([sys.executable, __file__, "--one", preset, method, "--steps", str(args.steps),
                                   "--precision", args.precision],
                                  capture_output=True, text=True, check=True)
            found[method] = json.loads(proc.stdout.strip().splitlines()[-1])
        base = found.get("lora")
        for method in methods:
            r = found[method]
            step_x = f"{r['step_s'] / base['step_s']:7.2f}" if base else f"{'-':>7}"
            work_x = f"{r['gflop'] / base['gflop']:7.2f}" if base else f"{'-':>7}"
            print(f"{preset:7} {method:9} {r['step_s']:8.3f} {step_x} {r['gflop']:8.1f} {work_x} "
                  f"{r['peak_rss_mb']:12.0f} {r['trainable']:12,} {r['base_params']:12,}  {r['backbone']}", flush=True)


if __name__ == "__main__":
    main()
