"""torchrun (DDP) for pretrain, adapt and train-har: two real gloo processes on the CPU.

Every multi-process run here is a real ``kinemic ... --nproc 2`` subprocess (torchrun's
launcher, two workers, gloo).  The reference is the same run on one process with the same
GLOBAL batch, made in this process through the library call behind the command (it saves
a subprocess's start-up, mostly the text encoder's import), with one thread like each
torchrun worker.  Dropout is off (``--dropout 0`` for the prior, ``--lora-dropout 0``)
because dropout masks are each process's own random stream: with it, runs on 1 and 2
processes are equal in distribution only, and a tolerance test could not fail.

Tolerances, and why they are what they are:

- pretrain / adapt, ``RTOL = 1e-4``: with the same draws, the two runs differ only by
  float32 summation order (two half-batch means and an all-reduce instead of one mean,
  the contrastive candidates gathered over processes); measured loss differences are
  ~1e-7 relative per step.  A wrong split, a local-only contrastive batch or unaveraged
  gradients move the losses by 1e-2 or more.  Weights get ``WEIGHT_ATOL = 1e-4``, a tenth
  of one Adam step at lr 1e-3: Adam's first updates are about ``lr * sign(gradient)``, so on
  weights whose gradient is near zero a rounding-level difference can move them by up to
  that much (measured: 2e-5).
- train-har, ``HAR_RTOL = 5e-4``: the tiny ST-GCN on the toy clips is ill-conditioned
  (BatchNorm at initialisation puts ReLU inputs of near-constant channels at zero, so a
  1e-7 change of the input changes gradients by up to 5%); the global-batch BatchNorm run
  measured 6e-5 from the single process, per-process BatchNorm statistics 3e-3.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import KINEMIC, run_kinemic
from ddp_support import SINGLE_THREAD, column, descendant_with_rank, files_of, metrics, wait_for
from har_support import write_har_store

from kinemic_cli.adapt.config import AdaptConfig, resolve_adapt_config
from kinemic_cli.adapt.data import prepare_joints, prepared_length
from kinemic_cli.adapt.run import run_adaptation
from kinemic_cli.har.run import HarRunConfig, run_train_har
from kinemic_cli.har.train import TrainConfig
from kinemic_cli.prior.pretrain import PretrainConfig, resolve_pretrain_config, run_pretraining
from kinemic_cli.runtime.checkpoints import load_state
from kinemic_cli.runtime.launch import describe_failures
from kinemic_cli.skeletons import NTU25, SMPL22
from kinemic_cli.store import MotionStore

RTOL = 1e-4
WEIGHT_ATOL = 1e-4
HAR_RTOL = 5e-4
PRETRAIN = ["pretrain", "--source", "demo-t2m", "--preset", "tiny", "--max-steps", "4", "--batch-size", "8",
            "--max-frames", "64", "--dropout", "0", "--warmup-steps", "1", "--checkpoint-every", "2"]


def kinemic(*args, **kw):
    return run_kinemic(*args, env=SINGLE_THREAD, **kw)


def with_option(args: list[str], option: str, value: str) -> list[str]:
    """``args`` with ``option``'s value replaced."""
    out = list(args)
    out[out.index(option) + 1] = value
    return out


@pytest.fixture(scope="module")
def one_thread():
    """In-process reference runs use one thread, as each torchrun worker does."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def world(tmp_path_factory, one_thread):
    """A demo store and a tiny prior trained on ONE process (also the pretrain reference)."""
    work = tmp_path_factory.mktemp("ddp")
    store = str(MotionStore(work / "kinemic.h5").path)
    kinemic("prepare", "--dataset", "demo", "--classes", "wave,kick,squat", "--limit", "150", "--store", store)
    kinemic("prepare", "--dataset", "demo-t2m", "--limit", "60", "--store", store)
    prior = work / "prior"
    values = dict(source="demo-t2m", preset="tiny", max_steps=4, batch_size=8, max_frames=64, dropout=0.0,
                  warmup_steps=1, checkpoint_every=2, out=str(prior), store=store)
    run_pretraining(resolve_pretrain_config(PretrainConfig(**values)), store=MotionStore(store))
    return SimpleNamespace(work=work, store=store, prior=prior)


ADAPT = dict(dataset="demo", shots=4, top_k=5, batch_size=12, lora_dropout=0.0, checkpoint_every=3)


def adapt_args(world, out, steps):
    """The CLI form of :data:`ADAPT`."""
    return ["adapt", "--dataset", "demo", "--prior", str(world.prior), "--shots", "4", "--top-k", "5",
            "--batch-size", "12", "--lora-dropout", "0", "--max-steps", str(steps), "--checkpoint-every", "3",
            "--out", str(out), "--store", world.store, "--json"]


def adapt_here(world, out, steps, *, resume=False):
    """:data:`ADAPT` on this process (the library call behind ``kinemic adapt``)."""
    config = resolve_adapt_config(AdaptConfig(**{**ADAPT, "prior": str(world.prior), "out": str(out),
                                                 "store": world.store, "max_steps": steps}), preset="tiny")
    return run_adaptation(config, store=MotionStore(world.store), resume=resume)


def test_pretrain_on_two_processes_matches_one(world):
    two = world.work / "prior-2"
    out = json.loads(kinemic(*PRETRAIN, "--out", str(two), "--store", world.store, "--nproc", "2", "--json").stdout)
    assert out["steps"] == 4  # one JSON document: only rank 0 prints
    np.testing.assert_allclose(column(two, "loss"), column(world.prior, "loss"), rtol=RTOL)
    assert column(two, "loss")[0] != column(two, "loss")[-1]  # the weights moved (lr 1e-3 from step 1)
    assert files_of(two) == files_of(world.prior)  # rank 0 alone wrote: same files, no rank copies
    one, _ = load_state(world.prior / "checkpoint")
    both, meta = load_state(two / "checkpoint")
    assert meta["world_size"] == 2 and len(both["rng"]["processes"]) == 2
    for key, value in one["model"].items():
        torch.testing.assert_close(both["model"][key], value, rtol=RTOL, atol=WEIGHT_ATOL)


def test_adapt_on_two_processes_matches_one_and_resumes_on_one(world):
    """KineMIC steps 1-3 on 2 processes, 4-6 resumed on 1, against 6 steps on 1 process."""
    reference, split = world.work / "adapt-1", world.work / "adapt-2then1"
    adapt_here(world, reference, 6)
    kinemic(*adapt_args(world, split, 3), "--nproc", "2")
    assert files_of(split) == files_of(reference)  # run folder of a 1-process run, written once
    for key in ("total", "rec", "con", "win", "window_weight"):
        np.testing.assert_allclose(column(split, key), column(reference, key)[:3], rtol=RTOL, err_msg=key)
    resumed = adapt_here(world, split, 6, resume=True)
    assert resumed.resumed_from == 3 and [int(r["step"]) for r in metrics(split)] == list(range(1, 7))
    for key in ("total", "rec", "con", "win"):
        np.testing.assert_allclose(column(split, key), column(reference, key), rtol=RTOL, err_msg=key)
    a, _ = load_state(reference / "checkpoint")
    b, _ = load_state(split / "checkpoint")
    bank_a, bank_b = a["student"]["memory_bank"], b["student"]["memory_bank"]
    assert torch.equal(bank_a["labels"], bank_b["labels"])  # the same FIFO, in the same order
    torch.testing.assert_close(bank_b["embeddings"], bank_a["embeddings"], rtol=RTOL, atol=WEIGHT_ATOL)
    for key, value in a["student"]["mic"].items():
        torch.testing.assert_close(b["student"]["mic"][key], value, rtol=RTOL, atol=WEIGHT_ATOL)


def test_train_har_on_two_processes_matches_one(tmp_path, one_thread):
    store = write_har_store(tmp_path / "toy.h5", train_per_class=8, val_per_class=3)
    training = TrainConfig(model="stgcn-tiny", epochs=1, clip_len=16, batch_size=8, min_epoch_clips=32)
    one = run_train_har(HarRunConfig(collection="toy", classes="wave left,wave right,kick", shots=4, seeds=[1],
                                     val_per_class=3, out=str(tmp_path / "one"), training=training), store)
    two = json.loads(kinemic(
        "train-har", "--dataset", "toy", "--store", str(store.path), "--classes", "wave left,wave right,kick",
        "--shots", "4", "--seeds", "1", "--epochs", "1", "--model", "stgcn-tiny", "--clip-len", "16", "--batch-size", "8",
        "--min-epoch-clips", "32", "--val-per-class", "3", "--json", "--out", str(tmp_path / "two"), "--nproc", "2").stdout)
    assert files_of(tmp_path / "two") == files_of(tmp_path / "one")
    history = [json.loads((tmp_path / run / "seed1" / "result.json").read_text())["history"] for run in ("one", "two")]
    np.testing.assert_allclose(history[1][0]["loss"], history[0][0]["loss"], rtol=HAR_RTOL)
    # validation (9 clips) and test (9 clips) were scored sharded over the 2 processes and gathered
    assert np.asarray(two["per_seed"][0]["last"]["confusion"]).sum() == 9 == one["clips"]["test"]
    assert two["clips"] == one["clips"]
    assert json.loads((tmp_path / "two" / "config.json").read_text())["provenance"]["world_size"] == 2


def test_killed_worker_fails_the_job_and_keeps_the_checkpoint(world):
    out = world.work / "killed"
    endless = with_option(adapt_args(world, out, 100000), "--checkpoint-every", "2")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **SINGLE_THREAD}
    job = subprocess.Popen([KINEMIC, *endless, "--nproc", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
    try:
        wait_for(lambda: (out / "checkpoint.json").exists() or job.poll() is not None, 180, "a first checkpoint")
        worker = descendant_with_rank(job.pid, 1)
        assert worker is not None, "no torchrun worker with RANK=1 below the job"
        os.kill(worker, signal.SIGKILL)
        _, stderr = job.communicate(timeout=180)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    assert job.returncode == 1
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("Error: adapt failed: process 1 was killed by SIGKILL"), last
    assert "--resume continues from the last complete checkpoint" in last
    _, meta = load_state(out / "checkpoint")  # complete and readable
    step = int(meta["step"])
    assert step >= 2 and step % 2 == 0
    config = resolve_adapt_config(AdaptConfig(**{**ADAPT, "checkpoint_every": 2, "prior": str(world.prior),
                                                 "out": str(out), "store": world.store, "max_steps": step + 1}),
                                  preset="tiny")
    assert run_adaptation(config, store=MotionStore(world.store), resume=True).resumed_from == step
    assert [int(r["step"]) for r in metrics(out)] == list(range(1, step + 2))


def test_failure_line_puts_the_cause_first():
    failures = {0: SimpleNamespace(exitcode=-15), 1: SimpleNamespace(exitcode=-9)}
    assert describe_failures(failures, 2) == ("process 1 was killed by SIGKILL, then process 0 was killed by SIGTERM "
                                              "(2 processes under torchrun)")
    assert describe_failures({3: SimpleNamespace(exitcode=1)}, 4) == "process 3 exited with status 1 (4 processes under torchrun)"


def test_batch_that_does_not_split_is_refused_before_starting(world, tmp_path):
    proc = kinemic(*with_option(PRETRAIN, "--batch-size", "7"), "--out", str(tmp_path / "odd"), "--store", world.store,
                   "--nproc", "2", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["Error: --batch-size 7 is the global batch and must be divisible by "
                                                "--nproc 2"]


@pytest.mark.parametrize("frames,fps", [(30, 30.0), (31, 30.0), (2, 30.0), (400, 20.0), (1, 30.0)])
def test_prepared_length_is_the_length_prepare_joints_returns(frames, fps):
    joints = np.random.default_rng(frames).normal(size=(frames, 1, 25, 3)).astype(np.float32)
    out = prepare_joints(joints, skeleton=NTU25, fps=fps, prior_skeleton=SMPL22, prior_fps=20.0, max_frames=196,
                         where="clip")
    assert len(out) == prepared_length(frames, fps=fps, prior_fps=20.0, max_frames=196)


def test_non_main_processes_leave_the_store_alone(tmp_path):
    """What rank > 0 does instead of writing: a few-shot draw without storing it, a read-only text cache."""
    from kinemic_cli.store.splits import make_fewshot_split
    from kinemic_cli.text import EmbeddingCache

    store = write_har_store(tmp_path / "toy.h5", train_per_class=4, val_per_class=1)
    name, drawn = make_fewshot_split(store, "toy", shots=2, seed=3, record=False)
    with store.collection("toy") as coll:
        assert name not in coll.split_names()
    assert np.array_equal(make_fewshot_split(store, "toy", shots=2, seed=3)[1], drawn)  # rank 0's draw is the same
    cache = EmbeddingCache(tmp_path / "cache.h5", "model", writable=False)
    cache.add(["a person waves"], np.ones((1, 4), np.float32))
    cache.save()
    assert not (tmp_path / "cache.h5").exists() and cache.get(["a person waves"]).shape == (1, 4)

