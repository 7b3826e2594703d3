"""NTU ``.skeleton`` reading speed and the memory of a large ``prepare``, on generated files.

    python bench/ntu_parse_bench.py --files 20000 --parse-files 2000 --workers 2

1. Writes ``--templates`` distinct realistic files in the release layout (80-120 frames,
   one body, every fourth file two; CRLF; the writer of ``tests/ntu_fixtures.py``) and
   links them under ``--files`` distinct NTU names in a temporary folder.  Reading cost
   is per byte and per body, not per name, so linked copies are read like distinct files
   (all are in the page cache, as a freshly unpacked release mostly is).
2. Parses the first ``--parse-files`` through the ``ntu60`` adapter in one process and
   with ``--workers`` processes: clips/s and MB/s; and the same files, in the same run and
   one process, with a reference reader written here in the style of st-gcn's
   ``read_skeleton`` (line by line, every field converted into nested dicts, then an
   ``[3, T, 25, M]`` array): the ratio of the two is the figure to quote.
3. Runs ``kinemic prepare --dataset ntu60 --workers N`` on all ``--files`` as a real
   subprocess: wall time and the peak RSS of the largest process (parent or worker).
4. Extrapolates the time of a full NTU120 (114,480 files).

Wall-clock figures depend on what else the machine runs, so CPU milliseconds per clip
(this process plus its finished workers) are printed beside them.  Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kinemic_cli.plugins import PrepareRequest, load_adapter

NTU120_FILES = 114_480
REPO = Path(__file__).resolve().parents[1]


def _fixtures():
    spec = importlib.util.spec_from_file_location("ntu_fixtures", REPO / "tests" / "ntu_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ntu_fixtures"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def _names(count: int, missing: frozenset[str]):
    i = 0
    made = 0
    while made < count:
        name = (f"S{i % 17 + 1:03d}C{(i // 17) % 3 + 1:03d}P{(i // 51) % 40 + 1:03d}"
                f"R{(i // 2040) % 2 + 1:03d}A{(i // 4080) % 60 + 1:03d}")
        i += 1
        if name not in missing:
            made += 1
            yield name


def generate(root: Path, *, files: int, templates: int) -> tuple[int, float]:
    fx = _fixtures()
    from datasets_plugins.ntu_release import NTU60, missing_skeletons

    tdir = root.parent / "templates"
    rng = np.random.default_rng(0)
    sizes = []
    for k in range(templates):
        frames = int(rng.integers(80, 121))
        fx.write_clip(tdir, f"T{k:04d}", frames=frames, persons=2 if k % 4 == 0 else 1, seed=k)
        sizes.append((tdir / f"T{k:04d}.skeleton").stat().st_size)
    root.mkdir(parents=True)
    total = 0
    for n, name in enumerate(_names(files, missing_skeletons(NTU60))):
        src = tdir / f"T{n % templates:04d}.skeleton"
        try:
            os.link(src, root / f"{name}.skeleton")
        except OSError:
            shutil.copyfile(src, root / f"{name}.skeleton")
        total += sizes[n % templates]
    return total, float(np.mean(sizes))


def cpu_seconds() -> float:
    """CPU time of this process plus every finished (waited-for) descendant: workers included."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def parse_rate(root: Path, count: int, workers: int) -> tuple[float, float, int, float]:
    """clips/s, MB/s, clips, and CPU ms per clip (parent + workers; wall figures depend on machine load)."""
    adapter = load_adapter("ntu60")
    stream = adapter.open(PrepareRequest(root=root, limit=count, workers=workers))
    start, cpu0 = time.perf_counter(), cpu_seconds()
    ids = [item.sample_id for item in stream.items]  # the sizes are summed after the clock stops
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    clips, nbytes = len(ids), sum(os.path.getsize(root / f"{i}.skeleton") for i in ids)
    return clips / seconds, nbytes / seconds / 1e6, clips, cpu / clips * 1e3


def reference_read(path: Path, max_bodies: int = 2) -> np.ndarray:
    """A line-by-line reader in the style of st-gcn's (written for this bench; not kinemic's)."""
    with open(path) as f:
        frames = []
        for _ in range(int(f.readline())):
            bodies = []
            for _ in range(int(f.readline())):
                keys = ["bodyID", "clipedEdges", "handLeftConfidence", "handLeftState", "handRightConfidence",
                        "handRightState", "isResticted", "leanX", "leanY", "trackingState"]
                body = {k: float(v) for k, v in zip(keys, f.readline().split())}
                body["joints"] = []
                for _ in range(int(f.readline())):
                    fields = ["x", "y", "z", "depthX", "depthY", "colorX", "colorY", "orientationW", "orientationX",
                              "orientationY", "orientationZ", "trackingState"]
                    body["joints"].append({k: float(v) for k, v in zip(fields, f.readline().split())})
                bodies.append(body)
            frames.append(bodies)
    data = np.zeros((3, len(frames), 25, max_bodies), np.float32)
    for t, bodies in enumerate(frames):
        for m, body in enumerate(bodies[:max_bodies]):
            for j, joint in enumerate(body["joints"][:25]):
                data[:, t, j, m] = [joint["x"], joint["y"], joint["z"]]
    return data


def reference_rate(root: Path, count: int) -> tuple[float, int, float]:
    """clips/s, clips, CPU ms per clip of :func:`reference_read` over the first ``count`` files."""
    paths = sorted(root.glob("*.skeleton"))[:count]
    start, cpu0 = time.perf_counter(), cpu_seconds()
    for path in paths:
        reference_read(path)
    seconds = time.perf_counter() - start
    return len(paths) / seconds, len(paths), (cpu_seconds() - cpu0) / len(paths) * 1e3


def prepare_run(root: Path, store: Path, workers: int) -> tuple[float, float, dict, float]:
    exe = shutil.which("kinemic") or str(Path(sys.executable).with_name("kinemic"))
    start, cpu0 = time.perf_counter(), cpu_seconds()
    proc = subprocess.run([exe, "prepare", "--dataset", "ntu60", "--root", str(root), "--store", str(store),
                           "--workers", str(workers), "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"prepare failed: {proc.stderr.strip()}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return seconds, peak_mb, json.loads(proc.stdout), cpu_seconds() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--parse-files", type=int, default=2_000)
    parser.add_argument("--templates", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder, removed after)")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="kinemic-ntu-bench-"))
    root = work / "nturgbd_skeletons"
    try:
        t0 = time.perf_counter()
        total_bytes, mean_size = generate(root, files=args.files, templates=args.templates)
        print(f"generated {args.files} files ({args.templates} distinct, mean {mean_size / 1e3:.0f} kB, "
              f"{total_bytes / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f}s")
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        rate1, mb1, n1, cpu1 = parse_rate(root, args.parse_files, 1)
        print(f"parse, 1 process:   {rate1:7.1f} clips/s  {mb1:6.1f} MB/s  ({n1} files, {cpu1:.1f} CPU ms/clip)")
        ref, nref, cpu_ref = reference_rate(root, args.parse_files)
        print(f"reference reader (st-gcn style), 1 process: {ref:7.1f} clips/s  ({nref} files, {cpu_ref:.1f} CPU ms/clip)"
              f" -> kinemic's parse is {rate1 / ref:.1f}x its speed (CPU time: {cpu_ref / cpu1:.1f}x)")
        rate_w, mb_w, nw, cpu_w = parse_rate(root, args.parse_files, args.workers)
        print(f"parse, {args.workers} workers:   {rate_w:7.1f} clips/s  {mb_w:6.1f} MB/s  ({nw} files, "
              f"{cpu_w:.1f} CPU ms/clip in parent + workers)")
        seconds, peak_mb, out, cpu = prepare_run(root, work / "bench.h5", args.workers)
        print(f"prepare {out['clips']} clips (--workers {args.workers}, store write included): {seconds:.1f}s "
              f"= {out['clips'] / seconds:.1f} clips/s, {cpu / out['clips'] * 1e3:.1f} CPU ms/clip; "
              f"peak RSS of the largest process {peak_mb:.0f} MB")
        print(f"extrapolated full NTU120 ({NTU120_FILES} files): prepare --workers {args.workers} "
              f"{NTU120_FILES * seconds / out['clips'] / 60:.1f} min wall here; parse alone 1 process "
              f"{NTU120_FILES / rate1 / 60:.1f} min, {args.workers} workers {NTU120_FILES / rate_w / 60:.1f} min; "
              f"CPU {NTU120_FILES * cpu / out['clips'] / 60:.1f} core-min in all (divide by idle cores)")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
