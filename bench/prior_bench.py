"""The prior's cost on this machine: training step time and peak RSS per preset and precision,
and how close a training step comes to the machine's own fp32 and bf16 matmul speed.

    python bench/prior_bench.py [--presets tiny,small,paper] [--precisions fp32,bf16] [--batch 32] [--frames 120] [--steps 3]

Each preset trains in its own process (so peak RSS is its own): AdamW steps of the masked
x0 loss on random clips of ``--frames`` frames (the speed does not depend on the data),
HumanML3D's 263 features for ``paper``, ``rootrel`` smpl22 (67) for the others.  The
FLOPs of a training step (forward and backward) and of a forward pass are counted by
``torch.utils.flop_counter`` and divided by their measured times; the machine's references are
2048 x 2048 matmuls in fp32 and in bf16, measured in the same run.  ``bf16`` is the autocast that
``--precision bf16`` uses.  Sampling throughput is
measured by ``bench/generate_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from machine_flops import counted_flops, matmul_gflops

FEATURES = {"tiny": 67, "small": 67, "paper": 263}



def run_one(preset: str, precision: str, batch: int, frames: int, steps: int) -> dict:
    import torch

    from kinemic_cli.models.denoiser import create_denoiser
    from kinemic_cli.prior.diffusion import CosineSchedule, diffusion_loss
    from kinemic_cli.runtime.precision import autocast

    torch.manual_seed(0)
    features = FEATURES[preset]
    model = create_denoiser(preset, features=features, text_dim=384)
    schedule = CosineSchedule(50)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, text = torch.randn(batch, frames, features), torch.randn(batch, 384)
    mask = torch.ones(batch, frames, dtype=torch.bool)

    def step() -> None:
        t = torch.randint(0, 50, (batch,))
        with autocast("cpu", precision):
            loss = diffusion_loss(model, schedule, x, mask, t, torch.randn_like(x), text=text)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    step_flops = counted_flops(step)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    step_s = (time.perf_counter() - start) / steps

    model.eval()
    t = torch.full((batch,), 10)
    with torch.no_grad(), autocast("cpu", precision):
        flops = counted_flops(lambda: model(x, t, text=text))
        model(x, t, text=text)
        start = time.perf_counter()
        for _ in range(steps):
            model(x, t, text=text)
        forward_s = (time.perf_counter() - start) / steps
    return {"preset": preset, "precision": precision, "train_step_gflops_per_s": step_flops / step_s / 1e9,
            "parameters": sum(p.numel() for p in model.parameters()), "batch": batch,
            "frames": frames, "train_step_s": step_s, "forward_s": forward_s, "forward_gflop": flops / 1e9,
            "forward_gflops_per_s": flops / forward_s / 1e9,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="tiny,small,paper")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-precision", default="fp32", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.child_precision, args.batch, args.frames, args.steps)))
        return
    import torch

    fp32, bf16 = matmul_gflops("fp32"), matmul_gflops("bf16")
    print(f"machine: 2048^3 matmul {fp32:.1f} GFLOP/s fp32, {bf16:.1f} bf16, with {torch.get_num_threads()} threads")
    print(f"{'preset':7} {'prec':4} {'params':>10} {'step s':>7} {'GFLOP/s':>8} {'%fp32':>6} {'%bf16':>6} "
          f"{'fwd s':>7} {'GFLOP/s':>8} {'RSS MiB':>7}")
    for preset in args.presets.split(","):
        for precision in args.precisions.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", preset, "--child-precision", precision,
                                  "--batch", str(args.batch), "--frames", str(args.frames), "--steps", str(args.steps)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            train = r["train_step_gflops_per_s"]
            print(f"{preset:7} {precision:4} {r['parameters']:>10,} {r['train_step_s']:>7.2f} {train:>8.1f} "
                  f"{train / fp32:>6.0%} {train / bf16:>6.0%} {r['forward_s']:>7.3f} "
                  f"{r['forward_gflops_per_s']:>8.1f} {r['peak_rss_mib']:>7.0f}", flush=True)

if __name__ == "__main__":
    main()
