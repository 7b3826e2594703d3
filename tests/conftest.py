"""Shared fixtures: temporary stores and a runner for the real ``kinemic`` executable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kinemic_cli.clip import Caption, Clip
from kinemic_cli.skeletons import SMPL22
from kinemic_cli.store import MotionStore

KINEMIC = shutil.which("kinemic") or str(Path(sys.executable).with_name("kinemic"))


def run_kinemic(*args: str, cwd: Path | None = None, check: bool = True, env: dict | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed ``kinemic`` executable as a real subprocess."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    proc = subprocess.run([KINEMIC, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kinemic {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_clips(n: int, *, seed: int = 0, classes: int = 3, min_len: int = 5, max_len: int = 30) -> list[Clip]:
    """Small random smpl22 clips with every kind of metadata filled in."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        clips.append(
            Clip(
                frames=rng.normal(size=(length, 1, 22, 3)).astype(np.float32),
                sample_id=f"clip{i:05d}",
                label=i % classes,
                subject=i % 7,
                camera=i % 3,
                splits=("xsub/train",) if i % 4 else ("xsub/val",),
                captions=[Caption(f"a person does thing {i}"), Caption(f"part {i}", 1, min(4, length))],
                extra={"seed": i * 10, "note": f"n{i}", "score": float(i) / 2},
                frame_data={"feat": rng.normal(size=(length, 5)).astype(np.float32)},
            )
        )
    return clips


def write_collection(store: MotionStore, name: str, clips: list[Clip], **kwargs):
    writer = store.writer(name, skeleton=SMPL22, fps=20, class_names=["a", "b", "c"], kind="har", persons=1,
                          attrs={"protocols": ["xsub"]}, **kwargs)
    for c in clips:
        writer.add(c)
    return writer.commit({"command": "test"})


@pytest.fixture
def store(tmp_path: Path) -> MotionStore:
    return MotionStore(tmp_path / "kinemic.h5")


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    """A small demo world run through the real CLI: prepare -> pretrain (tiny) -> adapt (kinemic, tiny).

    Shared by the pretrain, generate and pipeline tests; each step is a real ``kinemic``
    subprocess, sized to take seconds.
    """
    work = tmp_path_factory.mktemp("pipeline")
    store = str(work / "kinemic.h5")
    run_kinemic("prepare", "--dataset", "demo", "--classes", "wave,kick,squat", "--limit", "150", "--store", store)
    run_kinemic("prepare", "--dataset", "demo-t2m", "--limit", "60", "--store", store)
    prior = work / "prior"
    run_kinemic("pretrain", "--source", "demo-t2m", "--preset", "tiny", "--max-steps", "12", "--batch-size", "8",
                "--max-frames", "64", "--checkpoint-every", "6", "--out", str(prior), "--store", store)
    adapted = work / "adapted"
    run_kinemic("adapt", "--dataset", "demo", "--prior", str(prior), "--shots", "3", "--top-k", "5", "--max-steps", "4",
                "--out", str(adapted), "--store", store)
    return {"work": work, "store": store, "prior": prior, "adapted": adapted}
