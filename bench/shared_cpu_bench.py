"""What a training step costs on a shared CPU: thread count and OpenMP wait policy, idle and beside busy work.

A CPU machine is often shared (a second experiment, a test suite, a browser).  PyTorch's
default is one thread per core with OpenMP threads that spin while they wait; beside a busy
core a step then waits for the thread that is not scheduled, and costs many times its idle
time.  This bench runs the same small adaptation steps (``bench/adapt_bench.py --one``)
under several settings, first on an idle machine, then beside ``--busy`` processes that each
spin one core, and prints the step time and its ratio to the idle time of the same setting
and to the best idle setting.

    python bench/shared_cpu_bench.py --preset small --method kinemic --steps 6 --busy 1

``kinemic`` (the setting the CLI applies, :mod:`kinemic_cli.runtime.threads`) is measured
beside the raw ones, so the chosen default is checked, not assumed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SETTINGS = {
    "torch default": {},
    "passive wait": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin 10k then sleep": {"GOMP_SPINCOUNT": "10000"},
    "spin 100k then sleep": {"GOMP_SPINCOUNT": "100000"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "kinemic": "kinemic",
}


def _environment(setting) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if setting == "kinemic":
        from kinemic_cli.runtime.threads import configure_cpu_threads

        configure_cpu_threads(env)  # what `kinemic` does to its own environment before torch loads
    else:
        env.update(setting)
    return env


def _step_time(setting, preset: str, method: str, steps: int) -> tuple[float, str]:
    env = _environment(setting)
    proc = subprocess.run([sys.executable, str(HERE / "adapt_bench.py"), "--one", preset, method, "--steps", str(steps)],
                          capture_output=True, text=True, check=True, env=env)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    wait = env.get("OMP_WAIT_POLICY") or (f"spin {env['GOMP_SPINCOUNT']}" if "GOMP_SPINCOUNT" in env else "default")
    return result["step_s"], f"{result['torch_threads']} thr, wait {wait}"


def _busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small")
    p.add_argument("--method", default="kinemic")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--busy", type=int, default=1, help="processes spinning one core each beside the steps")
    args = p.parse_args()
    print(f"{os.cpu_count()} CPU cores, load before: {os.getloadavg()[0]:.2f}; adapt {args.preset}/{args.method}, "
          f"{args.steps} steps per run after one warm-up step")
    idle = {}
    for name, setting in SETTINGS.items():
        idle[name] = _step_time(setting, args.preset, args.method, args.steps)
    best = min(t for t, _ in idle.values())
    busy = {}
    workers = _busy(args.busy)
    try:
        time.sleep(1.0)
        for name, setting in SETTINGS.items():
            busy[name] = _step_time(setting, args.preset, args.method, args.steps)
    finally:
        for w in workers:
            w.kill()
    print(f"{'setting':26} {'threads':22} {'idle s/step':>11} {'busy s/step':>11} {'busy/idle':>9} {'busy/best idle':>14}")
    for name in SETTINGS:
        (t_idle, what), (t_busy, _) = idle[name], busy[name]
        print(f"{name:26} {what:22} {t_idle:11.3f} {t_busy:11.3f} {t_busy / t_idle:9.2f} {t_busy / best:14.2f}")


if __name__ == "__main__":
    main()
