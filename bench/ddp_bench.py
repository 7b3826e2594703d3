"""Steps per second of pretrain, adapt and train-har on 1 process and under torchrun with 2.

    python bench/ddp_bench.py [--steps 20] [--repeat 2] [--work DIR] [--all-threads]

Every figure comes from a real ``kinemic`` subprocess on the demo world (a store and the
priors are built first, in ``--work`` or a temporary folder), with the same GLOBAL batch
on 1 and on 2 processes.  The time is the command's own ``seconds_per_step`` (training
loop only: no start-up, text encoding or mining); train-har's is the epoch time over its
steps.  Configurations:

- ``1 proc x 1 thread``   the fair baseline for ``2 procs x 1 thread`` (torchrun gives each
  worker ``OMP_NUM_THREADS=1``);
- ``2 procs x 1 thread``  ``--nproc 2`` (gloo on the CPU);
- ``1 proc x N threads``  (``--all-threads``) what a user gets without ``--nproc`` on an
  N-core machine.  Left out by default: on a machine shared with other work, torch's
  threads spin waiting for a core the other work holds, and one run took minutes per step.

``--repeat R`` runs every configuration R times, alternating, and keeps the fastest (the
least disturbed by other work on the machine).  On a 2-core machine two processes can at
best halve the step time of one single-threaded process; gradient all-reduce, the contrastive all-gather and the per-step loss reductions
eat into that, and a machine that is busy with other work shows less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KINEMIC = shutil.which("kinemic") or str(Path(sys.executable).with_name("kinemic"))


def kinemic(args: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([KINEMIC, *args, "--json"], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"kinemic {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build_world(work: Path) -> str:
    store = str(work / "kinemic.h5")
    if not (work / "kinemic.h5").exists():
        kinemic(["prepare", "--dataset", "demo", "--classes", "wave,kick,squat", "--limit", "150", "--store", store], 1)
        kinemic(["prepare", "--dataset", "demo-t2m", "--limit", "120", "--store", store], 1)
    for preset in ("tiny", "small"):
        if not (work / f"prior-{preset}" / "prior.json").exists():
            kinemic(["pretrain", "--source", "demo-t2m", "--preset", preset, "--max-steps", "2", "--batch-size", "8",
                     "--max-frames", "120", "--out", str(work / f"prior-{preset}"), "--store", store], 1)
    return store


CONFIGS = [("1 proc x 1 thread", 1, 1), ("2 procs x 1 thread", 2, 1)]
ALL_THREADS = ("1 proc x {cores} threads", 1, None)


def measure(name: str, make_args, work: Path, seconds_of, configs=CONFIGS,
            repeat: int = 1) -> list[tuple[str, str, float]]:
    cores = os.cpu_count() or 1
    best: dict[str, float] = {}
    for attempt in range(repeat):
        for label, nproc, threads in configs:
            label = label.format(cores=cores)
            out = work / f"{name}-{nproc}-{threads}".replace(" ", "")
            shutil.rmtree(out, ignore_errors=True)
            args = make_args(out) + (["--nproc", str(nproc)] if nproc > 1 else [])
            seconds = seconds_of(kinemic(args, threads or cores), out)
            best[label] = min(seconds, best.get(label, float("inf")))
            print(f"  {name:<22} {label:<22} {1.0 / seconds:7.2f} steps/s (run {attempt + 1})", flush=True)
    return [(name, label, seconds) for label, seconds in best.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="optimisation steps per adapt/pretrain run")
    parser.add_argument("--work", type=Path, default=None, help="folder for the store and runs (default: temporary)")
    parser.add_argument("--all-threads", action="store_true", help="also 1 process with all cores' threads")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (the fastest is kept)")
    args = parser.parse_args()
    configs = CONFIGS + [ALL_THREADS] if args.all_threads else CONFIGS
    work = args.work or Path(tempfile.mkdtemp(prefix="kinemic-ddp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"building the demo world in {work} ...", flush=True)
    store = build_world(work)
    steps = str(args.steps)

    def adapt(preset: str):
        return lambda out: ["adapt", "--dataset", "demo", "--prior", str(work / f"prior-{preset}"), "--shots", "10",
                            "--top-k", "20", "--batch-size", "30", "--max-steps", steps, "--checkpoint-every", steps,
                            "--out", str(out), "--store", store]

    def pretrain(out):
        return ["pretrain", "--source", "demo-t2m", "--preset", "tiny", "--max-steps", steps, "--batch-size", "32",
                "--max-frames", "120", "--checkpoint-every", steps, "--out", str(out), "--store", store]

    def train_har(sync: bool):
        return lambda out: ["train-har", "--dataset", "demo", "--store", store, "--shots", "10", "--seeds", "1",
                            "--epochs", "1", "--model", "stgcn-small", "--batch-size", "32", "--min-epoch-clips",
                            str(32 * args.steps), "--val-per-class", "2", "--out", str(out),
                            "--sync-bn" if sync else "--no-sync-bn"]

    def per_step(result: dict, out: Path) -> float:
        return float(result["seconds_per_step"])

    def har_per_step(result: dict, out: Path) -> float:
        """The epoch's training time (before validation scoring) over its steps."""
        seed = json.loads((out / "seed1" / "result.json").read_text())
        return float(seed["history"][0]["seconds"]) / int(seed["steps"])

    rows = []
    print(f"global batch: adapt 30 (kinemic, 10 shots x 3 classes), pretrain 32, train-har 32; {steps} steps each")
    r = args.repeat
    rows += measure("adapt tiny (kinemic)", adapt("tiny"), work, per_step, configs, r)
    rows += measure("adapt small (kinemic)", adapt("small"), work, per_step, configs, r)
    rows += measure("pretrain tiny", pretrain, work, per_step, configs, r)
    rows += measure("train-har stgcn-small", train_har(True), work, har_per_step, configs, r)
    rows += measure("train-har --no-sync-bn", train_har(False), work, har_per_step, CONFIGS[1:], r)
    print()
    print(f"best of {r} run(s) per configuration")
    print(f"{'command':<24}{'configuration':<24}{'steps/s':>9}{'ms/step':>10}")
    for name, label, seconds in rows:
        print(f"{name:<24}{label:<24}{1.0 / seconds:9.2f}{1000.0 * seconds:10.1f}")


if __name__ == "__main__":
    main()
