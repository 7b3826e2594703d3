"""``kinemic ... --nproc N``: the same command, re-run under torchrun with N processes.

The launch goes through torchrun's own launcher (``torch.distributed.run``, the code
behind the ``torchrun`` executable, with ``--standalone``), run inside this process, so
that a failed worker comes back as torchrun's structured failure record instead of an
exit code: the error names the process, its exit status or the signal that killed it.
torchrun stops the other workers as soon as one fails, and training loops write their
checkpoints atomically from rank 0, so the last complete checkpoint survives any failure
and ``--resume`` continues from it.

Several machines: run ``torchrun --nnodes ... -m kinemic_cli <command> ...`` directly;
the commands read the environment torchrun sets and need no option for it.
"""

from __future__ import annotations

import os
import signal
import sys

from ..errors import KinemicError


def is_main_process() -> bool:
    """True outside torchrun and on rank 0 under it (read from the environment torchrun sets).

    Torch-free, for code that runs before :func:`kinemic_cli.runtime.distributed.setup_distributed`
    (the CLI layer, caches).
    """
    return int(os.environ.get("RANK", "0")) == 0


__all__ = ["is_main_process", "launch_torchrun", "describe_failures"]


def _failure_text(rank: int, failure) -> str:
    code = int(failure.exitcode)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"process {rank} was killed by {name}"
    return f"process {rank} exited with status {code}"


def _likely_cause(failure) -> int:
    """Sort key: a process killed by a signal other than SIGTERM, then one that exited with an
    error, then the ones torchrun stopped with SIGTERM after the first failure."""
    code = int(failure.exitcode)
    if code < 0 and -code != signal.SIGTERM:
        return 0
    return 1 if code > 0 else 2


def describe_failures(failures: dict, nproc: int) -> str:
    """One line for torchrun's failure records (``{rank: ProcessFailure}``), the likely cause first.

    torchrun's timestamps have one-second resolution, so they cannot order the failures.
    """
    ordered = sorted(failures.items(), key=lambda item: (_likely_cause(item[1]), item[0]))
    parts = [_failure_text(rank, failure) for rank, failure in ordered]
    return f"{', then '.join(parts)} ({nproc} processes under torchrun)"


def launch_torchrun(nproc: int, argv: list[str], *, what: str = "the command",
                    resume_hint: str = "--resume continues from the last complete checkpoint") -> None:
    """Run ``python -m kinemic_cli <argv>`` on ``nproc`` processes; a failure is a :class:`KinemicError`."""
    if nproc < 1:
        raise KinemicError(f"--nproc must be at least 1, got {nproc}")
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    args = torchrun.parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", "kinemic_cli", *argv])
    try:
        torchrun.run(args)
    except ChildFailedError as exc:
        raise KinemicError(f"{what} failed: {describe_failures(exc.failures, nproc)}; see the messages above; "
                           f"{resume_hint}") from None
    finally:
        sys.stdout.flush()
