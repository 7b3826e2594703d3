"""Store throughput: stream N clips of 25 joints (~100 frames) in, read them back, time random access.

    python bench/store_bench.py --clips 100000

Prints write and read throughput (frames/s, MB/s of raw float32), peak RSS of the process,
and the median / p99 latency of reading one random clip.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from kinemic_cli.clip import Clip
from kinemic_cli.skeletons import NTU25
from kinemic_cli.store import MotionStore


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthetic_clip(rng: np.random.Generator, i: int, base: np.ndarray) -> Clip:
    """A smooth random-walk motion (compresses like real motion, unlike white noise)."""
    length = int(rng.integers(80, 121))
    steps = rng.normal(scale=0.01, size=(length, 1, 25, 3)).astype(np.float32)
    frames = base + np.cumsum(steps, axis=0)
    return Clip(frames=frames, sample_id=f"c{i:07d}", label=i % 60, subject=i % 40, camera=i % 3,
                splits=("xsub/train",) if i % 3 else ("xsub/val",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp folder)")
    args = parser.parse_args()
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="kinemic-store-bench-"))
    store = MotionStore(workdir / "bench.h5")
    rng = np.random.default_rng(0)
    base = rng.normal(scale=0.3, size=(1, 1, 25, 3)).astype(np.float32)

    t0 = time.perf_counter()
    writer = store.writer("bench", skeleton=NTU25, fps=30, class_names=[f"A{i:03d}" for i in range(1, 61)],
                          persons=1, overwrite=True)
    frames = 0
    for i in range(args.clips):
        clip = synthetic_clip(rng, i, base)
        frames += clip.length
        writer.add(clip)
    t_add = time.perf_counter() - t0
    coll = writer.commit({"command": "store_bench"})
    t_write = time.perf_counter() - t0
    raw_mb = frames * 25 * 3 * 4 / 1e6
    size_mb = coll.path.stat().st_size / 1e6
    rss_write = peak_rss_mb()
    print(f"clips                 {args.clips}")
    print(f"frames                {frames}  ({raw_mb:.0f} MB raw float32, {size_mb:.0f} MB on disk)")
    print(f"write (parts)         {t_add:.1f} s")
    print(f"write total (commit)  {t_write:.1f} s  -> {frames / t_write:,.0f} frames/s, {raw_mb / t_write:.1f} MB/s")
    print(f"peak RSS after write  {rss_write:.0f} MB")

    t0 = time.perf_counter()
    n = 0
    for _, block in coll.iter_frames():
        n += len(block)
    t_read = time.perf_counter() - t0
    print(f"sequential read       {t_read:.1f} s  -> {n / t_read:,.0f} frames/s, {raw_mb / t_read:.1f} MB/s")

    idx = rng.integers(0, len(coll), size=args.reads)
    lat = []
    for i in idx:
        s = time.perf_counter()
        coll.frames(int(i))
        lat.append(time.perf_counter() - s)
    lat_ms = np.array(lat) * 1e3
    print(f"random clip read      median {np.median(lat_ms):.2f} ms, p99 {np.percentile(lat_ms, 99):.2f} ms")
    print(f"peak RSS (process)    {peak_rss_mb():.0f} MB")
    coll.close()


if __name__ == "__main__":
    main()
