"""`kinemic pretrain` through the real executable: prior folder, resume, text prompts, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import run_kinemic

from kinemic_cli.prior.bundle import load_prior
from kinemic_cli.prior.pretrain import PretrainConfig, resolve_pretrain_config, run_pretraining
from kinemic_cli.runtime.checkpoints import load_state
from kinemic_cli.runtime.progress import progress_enabled
from kinemic_cli.store import MotionStore


def test_prior_folder_is_complete_and_loads(pipeline):
    prior = pipeline["prior"]
    for name in ("prior.json", "prior.safetensors", "checkpoint.json", "config.json", "metrics.csv", "loss_curve.png"):
        assert (prior / name).exists(), name
    bundle = load_prior(prior)
    assert bundle.features.name == "rootrel" and bundle.skeleton.name == "smpl22" and bundle.fps == 20.0
    assert bundle.source_collection == "demo-t2m" and bundle.max_frames == 64 and bundle.schedule.num_steps == 50
    assert bundle.normaliser.mean.shape == (bundle.features.dim,) and np.all(bundle.normaliser.std > 0)
    config = json.loads((prior / "config.json").read_text())
    assert config["config"]["preset"] == "tiny" and config["provenance"]["command"] == "pretrain"
    assert len((prior / "metrics.csv").read_text().splitlines()) == 13  # header + 12 steps


def _config(tmp_path, name, **kw):
    values = dict(source="demo-t2m", out=str(tmp_path / name), preset="tiny", max_steps=6, batch_size=4, max_frames=48,
                  checkpoint_every=3, seed=3)
    values.update(kw)
    return resolve_pretrain_config(PretrainConfig(**values))


@pytest.mark.parametrize("name, skip", [("demo", False), ("demo-skip", True)])
def test_builtin_priors_load_with_their_output_parameterisation(name, skip):
    """The shipped priors load offline from the package; demo-skip predicts x0 through the skip."""
    from kinemic_cli.prior.bundle import resolve_prior_folder

    prior = load_prior(resolve_prior_folder(f"builtin:{name}"), with_text_encoder=False)
    assert prior.model.config.x0_skip is skip
    assert sum(p.numel() for p in prior.model.parameters()) > 1_000_000


def test_resume_continues_bit_identically(pipeline, tmp_path):
    store = MotionStore(pipeline["store"])
    with progress_enabled(False):
        run_pretraining(_config(tmp_path, "whole"), store=store)
        run_pretraining(_config(tmp_path, "parts", max_steps=3), store=store)
        run_pretraining(_config(tmp_path, "parts"), store=store, resume=True)
    whole, _ = load_state(tmp_path / "whole" / "checkpoint")
    parts, meta = load_state(tmp_path / "parts" / "checkpoint")
    assert meta["step"] == 6
    for key, value in whole["model"].items():
        assert torch.equal(value, parts["model"][key]), key
    assert (tmp_path / "whole" / "metrics.csv").read_text() == (tmp_path / "parts" / "metrics.csv").read_text()


def test_loss_decreases_on_the_demo_corpus(pipeline, tmp_path):
    store = MotionStore(pipeline["store"])
    with progress_enabled(False):
        result = run_pretraining(_config(tmp_path, "learn", max_steps=80, batch_size=16, checkpoint_every=80,
                                         warmup_steps=10), store=store)
    losses = [float(line.split(",")[1]) for line in (tmp_path / "learn" / "metrics.csv").read_text().splitlines()[1:]]
    assert np.mean(losses[-20:]) < 0.8 * np.mean(losses[:10]), (np.mean(losses[:10]), np.mean(losses[-20:]))
    assert result.steps == 80


def test_velocity_loss_is_logged_and_resumes_identically(pipeline, tmp_path):
    store = MotionStore(pipeline["store"])
    with progress_enabled(False):
        run_pretraining(_config(tmp_path, "vel", lambda_vel=1.0), store=store)
        run_pretraining(_config(tmp_path, "vel-parts", lambda_vel=1.0, max_steps=3), store=store)
        run_pretraining(_config(tmp_path, "vel-parts", lambda_vel=1.0), store=store, resume=True)
    rows = [line.split(",") for line in (tmp_path / "vel" / "metrics.csv").read_text().splitlines()]
    assert rows[0] == ["step", "loss", "rec", "vel", "lr"]
    for row in rows[1:]:
        loss, rec, vel = (float(v) for v in row[1:4])
        assert vel > 0 and loss == pytest.approx(rec + vel, rel=1e-5)
    assert (tmp_path / "vel" / "metrics.csv").read_text() == (tmp_path / "vel-parts" / "metrics.csv").read_text()
    with progress_enabled(False):
        run_pretraining(_config(tmp_path, "novel"), store=store)
    assert all(float(line.split(",")[3]) == 0.0 for line in (tmp_path / "novel" / "metrics.csv").read_text().splitlines()[1:])


def test_refusals_are_one_line(pipeline, tmp_path):
    store = pipeline["store"]
    proc = run_kinemic("pretrain", "--source", "demo", "--out", str(tmp_path / "x"), "--store", store, check=False)
    assert proc.returncode == 1 and "not a captioned t2m corpus" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_kinemic("pretrain", "--source", "demo-t2m", "--out", str(pipeline["prior"]), "--store", store, check=False)
    assert proc.returncode == 1 and "is not empty" in proc.stderr
    proc = run_kinemic("pretrain", "--source", "demo-t2m", "--preset", "giant", "--out", str(tmp_path / "y"),
                       "--store", store, check=False)
    assert proc.returncode == 1 and "tiny, small, paper" in proc.stderr
    with pytest.raises(Exception):
        resolve_pretrain_config(PretrainConfig(source="s", out="o", long_windows="trim"))


def test_text_prompt_generation_from_the_prior(pipeline, tmp_path):
    gif = tmp_path / "waves.gif"
    out = json.loads(run_kinemic("generate", "--model", str(pipeline["prior"]), "--text", "a person waves", "--n", "3",
                                 "--length", "24", "--sampler", "ddim", "--steps", "5", "--out", str(gif),
                                 "--collection", "prompt", "--store", pipeline["store"], "--json").stdout)
    assert out["clips"] == 3 and gif.stat().st_size > 0
    with MotionStore(pipeline["store"]).collection("prompt") as coll:
        assert coll.class_names == ["a person waves"] and set(coll.lengths) == {24}
        assert np.isfinite(coll.frames(0)).all()


def test_posture_augment_varies_windows_and_resumes_identically(pipeline, tmp_path):
    from kinemic_cli.motion.features import create_feature_space
    from kinemic_cli.prior.pretrain_data import ClipFeatureBank, PostureAugment, fit_normaliser

    store = MotionStore(pipeline["store"])
    with store.collection("demo-t2m") as coll:
        clips = np.arange(min(len(coll), 6))
        bank = ClipFeatureBank(coll, create_feature_space("rootrel", coll.skeleton), clips)
        augment = PostureAugment(bank, 0.5)
        plain = bank.get(0)[5:25]
        varied = augment.window(0, 5, 25, seed=1)
        # same length (the time warp keeps it), another posture; the same seed gives the same window
        assert varied.shape == plain.shape and np.abs(varied - plain).mean() > 1e-3
        np.testing.assert_array_equal(varied, augment.window(0, 5, 25, seed=1))
        # the statistics describe the varied distribution too: wider than the corpus alone
        assert np.median(fit_normaliser(bank, clips, augment).std / fit_normaliser(bank, clips).std) > 1.0
    with progress_enabled(False):
        run_pretraining(_config(tmp_path, "aug", augment=0.5), store=store)
        run_pretraining(_config(tmp_path, "aug-parts", augment=0.5, max_steps=3), store=store)
        run_pretraining(_config(tmp_path, "aug-parts", augment=0.5), store=store, resume=True)
        run_pretraining(_config(tmp_path, "plain"), store=store)
    metrics = {name: (tmp_path / name / "metrics.csv").read_text() for name in ("aug", "aug-parts", "plain")}
    assert metrics["aug"] == metrics["aug-parts"] and metrics["aug"] != metrics["plain"]
    assert json.loads((tmp_path / "aug" / "config.json").read_text())["config"]["augment"] == 0.5
    with pytest.raises(Exception, match="--augment"):
        _config(tmp_path, "bad", augment=1.5)


def test_snr_weight_cap_scales_each_steps_loss_by_its_weight(pipeline, tmp_path):
    """`--snr-weight-cap`: with one window per batch the weighted loss is the plain loss times the
    weight of the step drawn (the same draws, weights and dropout otherwise), and cap 1 is no weighting."""
    from kinemic_cli.errors import KinemicError
    from kinemic_cli.prior.diffusion import CosineSchedule
    from kinemic_cli.prior.losses import snr_step_weights

    store = MotionStore(pipeline["store"])
    runs = {}
    with progress_enabled(False):
        for cap in (0.0, 1.0, 1000.0):
            name = f"cap{cap:g}"
            run_pretraining(_config(tmp_path, name, x0_skip=True, snr_weight_cap=cap, batch_size=1, max_steps=4),
                            store=store)
            runs[cap] = [float(line.split(",")[2]) for line in
                         (tmp_path / name / "metrics.csv").read_text().splitlines()[1:]]
    assert runs[1.0] == runs[0.0]
    weights = snr_step_weights(CosineSchedule(50).snr(), 1000.0).tolist()
    # later steps start from different weights, so only the first step's ratio is a weight exactly
    ratio = runs[1000.0][0] / runs[0.0][0]
    assert min(abs(ratio / w - 1) for w in weights) < 1e-4, (ratio, weights)
    assert json.loads((tmp_path / "cap1000" / "config.json").read_text())["config"]["snr_weight_cap"] == 1000.0
    with pytest.raises(KinemicError, match="--snr-weight-cap"):
        resolve_pretrain_config(PretrainConfig(source="s", out="o", snr_weight_cap=0.5))
