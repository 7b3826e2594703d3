"""CPU threads that behave on a shared machine, chosen before torch loads.

PyTorch runs one OpenMP thread per core, and OpenMP threads *spin* while they wait for
each other.  Beside another busy process one of them is not scheduled, the others burn
their time slices spinning for it, and a training step costs several times its idle time
(20 s instead of 1.1 s per adaptation step was seen on a 2-core Xeon).  With the *passive*
wait policy a waiting thread sleeps instead, and a step beside a busy core costs about
what the free cores can give.  But sleeping and waking costs time on an idle machine too,
where spinning is what makes many small parallel regions fast.

Measured with ``bench/shared_cpu_bench.py`` (2-core AMD EPYC, small KineMIC step;
``paper`` LoRA step for the last column):

=====================  ==========  ===============  ==================
wait policy            idle s      beside 1 busy    paper idle s
=====================  ==========  ===============  ==================
spin (torch default)   0.76        2.1 - 2.9x idle  1.61
passive                1.04 - 1.14 1.1 - 1.2x idle  1.66
=====================  ==========  ===============  ==================

So :func:`configure_cpu_threads` looks at the machine when a command starts: if other
processes keep at least half a core busy (sampled from ``/proc/stat`` over 0.2 s), it sets
``OMP_WAIT_POLICY=PASSIVE``; on an idle machine it leaves OpenMP's spinning default.  A
user's own ``OMP_WAIT_POLICY`` / ``OMP_NUM_THREADS`` / ``GOMP_SPINCOUNT`` always win, and
torchrun workers inherit the choice.  It must run before torch (or numpy's BLAS) is
imported, because OpenMP reads these once at start-up.
"""

from __future__ import annotations

import os
import time
from typing import MutableMapping

__all__ = ["configure_cpu_threads", "busy_cores"]

BUSY_THRESHOLD = 0.5  # cores kept busy by other processes before waiting threads should sleep
_USER_KEYS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def _cpu_times() -> tuple[float, float] | None:
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]), idle


def busy_cores(interval: float = 0.2) -> float | None:
    """How many cores other processes keep busy right now (None where it cannot be measured)."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(interval)
    second = _cpu_times()
    total, idle = second[0] - first[0], second[1] - first[1]
    if total <= 0:
        return None
    return (1.0 - idle / total) * (os.cpu_count() or 1)


def configure_cpu_threads(environ: MutableMapping[str, str] | None = None, *,
                          busy: float | None = None) -> dict[str, str]:
    """Choose the OpenMP wait policy for this machine's load; returns what was set.

    ``busy``: cores other processes keep busy (measured when not given).
    """
    env = os.environ if environ is None else environ
    if any(key in env for key in _USER_KEYS):
        return {}
    busy = busy_cores() if busy is None else busy
    chosen = {"OMP_WAIT_POLICY": "PASSIVE"} if busy is None or busy >= BUSY_THRESHOLD else {}
    env.update(chosen)
    return chosen
