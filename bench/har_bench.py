"""ST-GCN training speed and memory on this machine: seconds per epoch of 1,000 clips, peak RSS.

    python bench/har_bench.py                       # every variant, 1 and all threads
    python bench/har_bench.py --variant stgcn-small --threads 2 --clip-len 48 --store demo.h5

Each (variant, threads) runs in its own subprocess so that peak RSS is its own.  Clips come
from the demo world when ``--store`` holds a ``demo`` collection (pre-normalised exactly as
train-har does), else random smpl22 clips of 20-80 frames (the speed is the same).
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


def measure(variant: str, threads: int, clip_len: int, batch: int, clips: int, store: str | None, epochs: int) -> dict:
    import torch

    from kinemic_cli.har.train import TrainConfig, train_recogniser
    from kinemic_cli.runtime.progress import progress_enabled
    from kinemic_cli.skeletons import SMPL22

    torch.set_num_threads(threads)
    bank, classes = _bank(store, clips)
    cfg = TrainConfig(model=variant, epochs=epochs, clip_len=clip_len, batch_size=batch, min_epoch_clips=0)
    t0 = time.perf_counter()
    with progress_enabled(False):
        _, _, history = train_recogniser(bank, None, skeleton=SMPL22, num_classes=classes, cfg=cfg, seed=0)
    per_epoch = [e["seconds"] for e in history["epochs"]]
    return {"variant": variant, "threads": threads, "clip_len": clip_len, "batch": batch, "clips": len(bank),
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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.variant, args.threads, args.clip_len, args.batch, args.clips, args.store, args.epochs)))
        return
    variants = [args.variant] if args.variant else ["stgcn-tiny", "stgcn-small", "stgcn"]
    threads = [args.threads] if args.threads else sorted({1, os.cpu_count() or 1})
    print(f"{'variant':<12} {'threads':>7} {'clip_len':>8} {'clips':>6} {'s/epoch':>8} {'peak RSS MiB':>12}")
    for variant in variants:
        for t in threads:
            cmd = [sys.executable, __file__, "--child", "--variant", variant, "--threads", str(t), "--clip-len",
                   str(args.clip_len), "--batch", str(args.batch), "--clips", str(args.clips), "--epochs", str(args.epochs)]
            if args.store:
                cmd += ["--store", args.store]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            print(f"{r['variant']:<12} {r['threads']:>7} {r['clip_len']:>8} {r['clips']:>6} "
                  f"{r['seconds_per_epoch']:>8.1f} {r['peak_rss_mib']:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
