"""The store's promises under kill -9 and concurrent writers, with real subprocesses."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time

import numpy as np
from conftest import KINEMIC, run_kinemic

from kinemic_cli.store import MotionStore


def _digest(store: MotionStore, name: str) -> str:
    h = hashlib.sha256()
    with store.collection(name) as coll:
        for _, frames in coll.iter_frames():
            h.update(frames.tobytes())
        h.update(coll.labels.tobytes())
    return h.hexdigest()


def _start_prepare(store_path, *args):
    return subprocess.Popen([KINEMIC, "prepare", "--store", str(store_path), *args, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_write_leaves_store_intact_and_rerun_completes(tmp_path):
    store_path = tmp_path / "kinemic.h5"
    run_kinemic("prepare", "--dataset", "demo", "--store", str(store_path), "--json")
    store = MotionStore(store_path)
    before = _digest(store, "demo")

    # kill a long write at several moments: while parts are written, and later (commit)
    for delay in (0.5, 2.0, 4.0):
        proc = _start_prepare(store_path, "--dataset", "demo-t2m", "--collection", "corpus",
                              "--option", "clips=3000", "--overwrite")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL or proc.returncode == 0
        # the store opens, the earlier collection is bit-identical
        assert _digest(store, "demo") == before
        names = store.list()
        assert "demo" in names
        if "corpus" in names:  # it finished before the kill: it must then be complete
            with store.collection("corpus") as coll:
                assert len(coll) == 3000
        ls = json.loads(run_kinemic("store", "ls", "--store", str(store_path), "--json").stdout)
        assert {c["name"] for c in ls["collections"]} == set(names)

    # a re-run completes and the interrupted write is gone
    run_kinemic("prepare", "--dataset", "demo-t2m", "--collection", "corpus", "--store", str(store_path),
                "--option", "clips=3000", "--overwrite", "--json")
    with store.collection("corpus") as coll:
        assert len(coll) == 3000
    assert store.incomplete() == []
    assert _digest(store, "demo") == before


def test_two_concurrent_writers_both_land(tmp_path):
    store_path = tmp_path / "kinemic.h5"
    procs = [
        _start_prepare(store_path, "--dataset", "demo", "--collection", f"demo{k}", "--world-seed", str(k))
        for k in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = MotionStore(store_path)
    assert store.list() == ["demo0", "demo1"]
    with store.collection("demo0") as a, store.collection("demo1") as b:
        assert len(a) > 0 and len(b) > 0
        assert not np.array_equal(a.frames(0), b.frames(0))  # different seeds, both intact


def test_concurrent_writers_of_one_name_one_wins_cleanly(tmp_path):
    store_path = tmp_path / "kinemic.h5"
    procs = [_start_prepare(store_path, "--dataset", "demo", "--collection", "same") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    store = MotionStore(store_path)
    assert store.list() == ["same"]
    assert codes == [0, 1], outs
    loser = outs[[p.returncode for p in procs].index(1)]
    assert "already exists" in loser[1] or "another process is writing" in loser[1]
    assert len(loser[1].strip().splitlines()) == 1  # one clear line, no traceback


def test_written_files_get_the_usual_permissions(tmp_path):
    """safetensors creates owner-only files; a shared run folder must stay readable by the team."""
    import os
    import stat

    import torch

    from kinemic_cli.runtime.atomic import atomic_write_text
    from kinemic_cli.runtime.checkpoints import save_state

    old = os.umask(0o022)
    try:
        save_state(tmp_path / "ckpt", {"w": torch.zeros(3)}, meta={"step": 1})
        assert stat.S_IMODE((tmp_path / "ckpt.safetensors").stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "ckpt.json").stat().st_mode) == 0o644
        kept = tmp_path / "notes.txt"
        kept.write_text("old")
        kept.chmod(0o640)  # a file that exists keeps the mode its owner gave it
        atomic_write_text(kept, "new")
        assert kept.read_text() == "new" and stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old)
