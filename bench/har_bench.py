"""ST-GCN training speed and memory on this machine: seconds per epoch of 1,000 clips, peak RSS,
and the achieved GFLOP/s beside the machine's own fp32 and bf16 matmul speed.

    python bench/har_bench.py                       # every variant, 1 and all threads, fp32
    python bench/har_bench.py --variant stgcn-small --threads 2 --clip-len 48 --store demo.h5
    python bench/har_bench.py --threads 2 --precisions fp32,bf16

Each (variant, threads) runs in its own subprocess so that peak RSS is its own.  Clips come
from the demo world when ``--store`` holds a ``demo`` collection (pre-normalised exactly as
train-har does), else random smpl22 clips of 20-80 frames (the speed is the same).  An epoch's
FLOPs are those of one training step (forward and backward, counted by torch's flop counter
on a batch of the same shape) times the steps of the epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from machine_flops import counted_flops, matmul_gflops


def _bank(store: str | None, n: int):
    from kinemic_cli.har.data import ClipBank, load_clip_bank
    from kinemic_cli.skeletons import SMPL22
    from kinemic_cli.store import MotionStore

    if store and MotionStore(store).has("demo"):
        with MotionStore(store).collection("demo") as coll:
            idx = np.arange(min(n, len(coll)))
            return load_clip_bank(coll, idx, label_map={k: k for k in range(len(coll.class_names))}, skeleton=SMPL22,
                                  persons=1, origin="real"), len(coll.class_names)
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=(int(rng.integers(20, 81)), 1, 22, 3)).astype(np.float32) for _ in range(n)]
    return ClipBank.from_clips(clips, rng.integers(0, 14, n), "real"), 14


def step_flops(variant: str, bank, classes: int, clip_len: int, batch: int, precision: str) -> int:
    """FLOPs of one training step of ``variant`` on a batch shaped as train-har's."""
    import torch

    from kinemic_cli.models.stgcn import create_stgcn
    from kinemic_cli.runtime.precision import autocast
    from kinemic_cli.skeletons import SMPL22

    model = create_stgcn(variant, skeleton=SMPL22, num_classes=classes, in_channels=bank.data.shape[-1],
                         persons=bank.data.shape[2])
    x = torch.randn(batch, bank.data.shape[2], clip_len, SMPL22.num_joints, bank.data.shape[-1])

    def step() -> None:
        with autocast("cpu", precision):
            logits = model(x).float()
        logits.sum().backward()

    return counted_flops(step)


def measure(variant: str, threads: int, clip_len: int, batch: int, clips: int, store: str | None, epochs: int,
            precision: str) -> dict:
    import torch

    from kinemic_cli.har.train import TrainConfig, train_recogniser
    from kinemic_cli.runtime.progress import progress_enabled
    from kinemic_cli.skeletons import SMPL22

    torch.set_num_threads(threads)
    bank, classes = _bank(store, clips)
    cfg = TrainConfig(model=variant, epochs=epochs, clip_len=clip_len, batch_size=batch, min_epoch_clips=0,
                      precision=precision)
    t0 = time.perf_counter()
    with progress_enabled(False):
        _, _, history = train_recogniser(bank, None, skeleton=SMPL22, num_classes=classes, cfg=cfg, seed=0)
    per_epoch = [e["seconds"] for e in history["epochs"]]
    epoch_flops = step_flops(variant, bank, classes, clip_len, batch, precision) * (-(-len(bank) // batch))
    return {"variant": variant, "threads": threads, "precision": precision,
            "gflops_per_s": epoch_flops / float(np.median(per_epoch)) / 1e9, "clip_len": clip_len, "batch": batch, "clips": len(bank),
            "seconds_per_epoch": float(np.median(per_epoch)), "epochs": epochs,
            "total_seconds": time.perf_counter() - t0,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default=None, help="one variant (default: stgcn-tiny, stgcn-small, stgcn)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: 1 and all cores)")
    parser.add_argument("--clip-len", type=int, default=48)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--store", default=None)
    parser.add_argument("--precisions", default="fp32", help="comma-separated: fp32, bf16")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.variant, args.threads, args.clip_len, args.batch, args.clips, args.store, args.epochs,
                                 args.precisions)))
        return
    variants = [args.variant] if args.variant else ["stgcn-tiny", "stgcn-small", "stgcn"]
    threads = [args.threads] if args.threads else sorted({1, os.cpu_count() or 1})
    import torch

    fp32, bf16 = matmul_gflops("fp32"), matmul_gflops("bf16")
    print(f"machine: 2048^3 matmul {fp32:.1f} GFLOP/s fp32, {bf16:.1f} bf16, with {torch.get_num_threads()} threads")
    print(f"{'variant':<12} {'prec':4} {'threads':>7} {'clip_len':>8} {'clips':>6} {'s/epoch':>8} {'GFLOP/s':>8} "
          f"{'%fp32':>6} {'%bf16':>6} {'RSS MiB':>8}")
    for variant in variants:
        for t in threads:
            for precision in args.precisions.split(","):
                cmd = [sys.executable, __file__, "--child", "--variant", variant, "--threads", str(t), "--clip-len",
                       str(args.clip_len), "--batch", str(args.batch), "--clips", str(args.clips), "--epochs",
                       str(args.epochs), "--precisions", precision]
                if args.store:
                    cmd += ["--store", args.store]
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
                rate = r["gflops_per_s"]
                print(f"{r['variant']:<12} {precision:4} {r['threads']:>7} {r['clip_len']:>8} {r['clips']:>6} "
                      f"{r['seconds_per_epoch']:>8.1f} {rate:>8.1f} {rate / fp32:>6.0%} {rate / bf16:>6.0%} "
                      f"{r['peak_rss_mib']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
