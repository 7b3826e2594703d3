"""The prior's cost on this machine: training step time and peak RSS per preset, and how close
the denoiser's forward pass comes to the machine's own fp32 matmul speed.

    python bench/prior_bench.py [--presets tiny,small,paper] [--batch 32] [--frames 120] [--steps 3]

Each preset trains in its own process (so peak RSS is its own): AdamW steps of the masked
x0 loss on random clips of ``--frames`` frames (the speed does not depend on the data),
HumanML3D's 263 features for ``paper``, ``rootrel`` smpl22 (67) for the others.  The
forward's FLOPs are counted by ``torch.utils.flop_counter`` and divided by its measured
time; the machine's reference is a 2048 x 2048 fp32 matmul.  Sampling throughput is
measured by ``bench/generate_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

FEATURES = {"tiny": 67, "small": 67, "paper": 263}


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * size ** 3 / (time.perf_counter() - start) / 1e9


def run_one(preset: str, batch: int, frames: int, steps: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from kinemic_cli.models.denoiser import create_denoiser
    from kinemic_cli.prior.diffusion import CosineSchedule, diffusion_loss

    torch.manual_seed(0)
    features = FEATURES[preset]
    model = create_denoiser(preset, features=features, text_dim=384)
    schedule = CosineSchedule(50)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, text = torch.randn(batch, frames, features), torch.randn(batch, 384)
    mask = torch.ones(batch, frames, dtype=torch.bool)

    def step() -> None:
        t = torch.randint(0, 50, (batch,))
        loss = diffusion_loss(model, schedule, x, mask, t, torch.randn_like(x), text=text)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    step_s = (time.perf_counter() - start) / steps

    model.eval()
    t = torch.full((batch,), 10)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            model(x, t, text=text)
        flops = counter.get_total_flops()
        model(x, t, text=text)
        start = time.perf_counter()
        for _ in range(steps):
            model(x, t, text=text)
        forward_s = (time.perf_counter() - start) / steps
    return {"preset": preset, "parameters": sum(p.numel() for p in model.parameters()), "batch": batch,
            "frames": frames, "train_step_s": step_s, "forward_s": forward_s, "forward_gflop": flops / 1e9,
            "forward_gflops_per_s": flops / forward_s / 1e9,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="tiny,small,paper")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.batch, args.frames, args.steps)))
        return
    import torch

    reference = matmul_gflops()
    print(f"machine: fp32 matmul {reference:.1f} GFLOP/s with {torch.get_num_threads()} threads")
    print(f"{'preset':8} {'params':>10} {'step s':>8} {'fwd s':>8} {'fwd GFLOP':>10} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'RSS MiB':>8}")
    for preset in args.presets.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", preset, "--batch", str(args.batch), "--frames",
                              str(args.frames), "--steps", str(args.steps)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{preset:8} {r['parameters']:>10,} {r['train_step_s']:>8.2f} {r['forward_s']:>8.3f} "
              f"{r['forward_gflop']:>10.1f} {r['forward_gflops_per_s']:>8.1f} {r['forward_gflops_per_s'] / reference:>8.0%} "
              f"{r['peak_rss_mib']:>8.0f}")


if __name__ == "__main__":
    main()
