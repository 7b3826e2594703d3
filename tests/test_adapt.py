"""`adapt` end to end on a real store: methods, ablations, run folder, resume, CLI."""

import csv
import json

import numpy as np
import pytest
import torch
from adapt_support import minilm_encode, tiny_prior, write_adapt_store
from conftest import run_kinemic

from kinemic_cli.adapt.config import AdaptConfig, resolve_adapt_config
from kinemic_cli.adapt.run import run_adaptation
from kinemic_cli.errors import KinemicError
from kinemic_cli.runtime.checkpoints import load_state
from kinemic_cli.store import MotionStore


@pytest.fixture(scope="module")
def adapt_store(tmp_path_factory):
    store = MotionStore(tmp_path_factory.mktemp("adapt") / "kinemic.h5")
    write_adapt_store(store)
    return store


def _config(tmp_path, name, **kw):
    values = dict(dataset="tgt", collection="tgt", prior="tiny-prior", out=str(tmp_path / name), shots=3, top_k=4,
                  batch_size=9, max_steps=6, checkpoint_every=3, mic_hidden=16, mic_embed=16, memory_bank=10)
    values.update(kw)
    return resolve_adapt_config(AdaptConfig(**values), preset="tiny")


def _run(store, config, **kw):
    return run_adaptation(config, store=store, prior=tiny_prior(minilm_encode), **kw)


def _metrics(out):
    with open(out / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_kinemic_run_folder_is_complete(tmp_path, adapt_store):
    result = _run(adapt_store, _config(tmp_path, "run"))
    out = tmp_path / "run"
    for name in ("config.json", "mining.json", "metrics.csv", "loss_curve.png", "mined_windows.gif",
                 "adapted.json", "model.safetensors", "checkpoint.json"):
        assert (out / name).exists(), name
    rows = _metrics(out)
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    assert all(float(r[k]) > 0 for r in rows for k in ("rec", "con", "win"))
    mining = json.loads((out / "mining.json").read_text())
    assert [c["name"] for c in mining["classes"]] == ["wave", "kick", "squat"]
    assert "waves" in " ".join(mining["classes"][0]["neighbours"][0]["captions"])
    manifest = json.loads((out / "adapted.json").read_text())
    assert manifest["lengths_per_class"].keys() == {"wave", "kick", "squat"}
    assert sum(len(v) for v in manifest["lengths_per_class"].values()) == 9
    config = json.loads((out / "config.json").read_text())
    # the shots come from --fewshot-seed (42), not from the training --seed (0)
    assert config["config"]["lr"] == 1e-3 and config["provenance"]["fewshot_split"] == "fewshot/k3-s42/train"
    fewshot = manifest["fewshot"]
    with adapt_store.collection("tgt") as coll:
        members = sorted(str(coll.sample_ids[i]) for i in coll.split("fewshot/k3-s42/train"))
    assert fewshot["split"] == "fewshot/k3-s42/train" and fewshot["sample_ids"] == members
    assert result.trainable_parameters > 0 and result.steps == 6


def test_resume_continues_bit_identically(tmp_path, adapt_store):
    _run(adapt_store, _config(tmp_path, "full"))
    _run(adapt_store, _config(tmp_path, "cut", max_steps=3))
    _run(adapt_store, _config(tmp_path, "cut"), resume=True)
    assert _metrics(tmp_path / "full") == _metrics(tmp_path / "cut")
    a, _ = load_state(tmp_path / "full" / "checkpoint")
    b, _ = load_state(tmp_path / "cut" / "checkpoint")
    flat_a, flat_b = _flatten(a), _flatten(b)
    assert flat_a.keys() == flat_b.keys()
    assert all(torch.equal(flat_a[k], flat_b[k]) if isinstance(flat_a[k], torch.Tensor) else flat_a[k] == flat_b[k]
               for k in flat_a)


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        return {k2: v2 for k, v in obj.items() for k2, v2 in _flatten(v, f"{prefix}/{k}").items()}
    if isinstance(obj, (list, tuple)):
        return {k2: v2 for i, v in enumerate(obj) for k2, v2 in _flatten(v, f"{prefix}/{i}").items()}
    return {prefix: obj}


@pytest.mark.parametrize("method,flags,zero", [
    ("finetune", {}, {"con", "win"}),
    ("lora", {}, {"con", "win"}),
    ("kinemic", {"contrastive": False}, {"con"}),
    ("kinemic", {"window": False}, {"win"}),
    ("kinemic", {"dww": False}, set()),
])
def test_methods_and_ablations_run(tmp_path, adapt_store, method, flags, zero):
    out = tmp_path / "m"
    _run(adapt_store, _config(tmp_path, "m", method=method, max_steps=3, **flags))
    rows = _metrics(out)
    for key in ("con", "win"):
        values = [float(r[key]) for r in rows]
        assert (max(values) == 0.0) == (key in zero), (key, values)
    if not flags.get("dww", True):
        assert all(float(r["window_weight"]) == 1.0 for r in rows)
    assert (out / "mining.json").exists() == (method == "kinemic")


def test_motion_aware_mining_reranks_and_retimes_windows(tmp_path, adapt_store):
    """--kinematic-rerank mines a wider pool and keeps --top-k; --pace-match records a factor per window."""
    plain = _run_mining(tmp_path, adapt_store, "plain", kinematic_rerank=0, pace_match=False)
    aware = _run_mining(tmp_path, adapt_store, "aware", kinematic_rerank=8, pace_match=True)
    for entry, before in zip(aware["classes"], plain["classes"]):
        rows = entry["neighbours"]
        assert len(rows) == 4 and all(0.5 <= r["pace"] <= 2.0 and "motion_margin" in r for r in rows)
        score = [r["similarity"] + r["motion_margin"] for r in rows]
        assert score == sorted(score, reverse=True)
        assert all("pace" not in r for r in before["neighbours"])


def test_a_run_from_before_motion_aware_mining_resumes_only_as_it_was_trained(tmp_path, adapt_store):
    """An older run folder's config does not name --pace-match / --kinematic-rerank: it was trained
    without them, and the new defaults must not switch them on halfway through."""
    old = dict(pace_match=False, kinematic_rerank=0, max_steps=2, checkpoint_every=1)
    _run(adapt_store, _config(tmp_path, "old", **old))
    saved = json.loads((tmp_path / "old" / "config.json").read_text())
    for key in ("pace_match", "kinematic_rerank"):
        del saved["config"][key]
    (tmp_path / "old" / "config.json").write_text(json.dumps(saved))
    with pytest.raises(KinemicError, match="--resume: option pace_match is True but the run in .* used False"):
        _run(adapt_store, _config(tmp_path, "old", max_steps=3, checkpoint_every=1), resume=True)
    assert _run(adapt_store, _config(tmp_path, "old", **{**old, "max_steps": 3}), resume=True).steps == 3


def _run_mining(tmp_path, store, name, **flags):
    _run(store, _config(tmp_path, name, max_steps=2, **flags))
    return json.loads((tmp_path / name / "mining.json").read_text())


def test_losses_decrease_on_a_fixed_batch(tmp_path, adapt_store):
    _run(adapt_store, _config(tmp_path, "long", max_steps=40, checkpoint_every=40, cfg_drop=0.0, top_k=1))
    rows = _metrics(tmp_path / "long")
    for key in ("rec", "con", "win"):
        values = np.array([float(r[key]) for r in rows])
        assert np.isfinite(values).all()
        assert values[-8:].mean() < values[:8].mean(), key


def test_refusals_name_the_option(tmp_path, adapt_store):
    with pytest.raises(KinemicError, match="--method"):
        _config(tmp_path, "x", method="magic")
    with pytest.raises(KinemicError, match="--kinematic-rerank must be 0 or at least --top-k"):
        _config(tmp_path, "x", kinematic_rerank=2)
    _run(adapt_store, _config(tmp_path, "busy", method="lora", max_steps=1))
    with pytest.raises(KinemicError, match="not empty"):
        _run(adapt_store, _config(tmp_path, "busy", method="lora", max_steps=1))
    with pytest.raises(KinemicError, match="--resume: option lr"):
        _run(adapt_store, _config(tmp_path, "busy", method="lora", max_steps=2, lr=0.5), resume=True)
    with pytest.raises(KinemicError, match="--source"):
        _run(adapt_store, _config(tmp_path, "nosrc", source="nope"))


def test_cli_reports_a_missing_prior_in_one_line(tmp_path):
    proc = run_kinemic("adapt", "--dataset", "demo", "--prior", str(tmp_path / "none"), "--out",
                       str(tmp_path / "o"), "--store", str(tmp_path / "s.h5"), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: --prior {tmp_path / 'none'}: folder not found"]


def test_target_on_another_skeleton_is_converted_or_refused():
    from kinemic_cli.adapt.data import prepare_joints
    from kinemic_cli.skeletons import NTU25, OPENPOSE18, SMPL22

    kinect = np.random.default_rng(0).normal(size=(30, 2, 25, 3)).astype(np.float32)
    joints = prepare_joints(kinect, skeleton=NTU25, fps=30.0, prior_skeleton=SMPL22, prior_fps=20.0, max_frames=196,
                            where="clip S001")
    assert joints.shape == (20, 22, 3)  # first person, smpl22 joints, resampled 30 -> 20 fps
    with pytest.raises(KinemicError, match="clip S002: skeleton 'openpose18' is 2D"):
        prepare_joints(np.zeros((5, 1, 18, 3)), skeleton=OPENPOSE18, fps=30.0, prior_skeleton=SMPL22, prior_fps=20.0,
                       max_frames=196, where="clip S002")


def test_builtin_demo_on_a_fresh_store_names_the_command_that_prepares_its_source(tmp_path):
    from conftest import run_kinemic

    store = tmp_path / "fresh.h5"
    run_kinemic("prepare", "--dataset", "demo", "--limit", "60", "--store", str(store))
    proc = run_kinemic("adapt", "--dataset", "demo", "--prior", "builtin:demo", "--shots", "2", "--out",
                       str(tmp_path / "a"), "--store", str(store), check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert f"kinemic prepare --dataset demo-t2m --store {store}" in proc.stderr


def test_action_lr_mult_scales_the_action_tables_steps(tmp_path, adapt_store):
    from safetensors.torch import load_file

    def table_norm(name: str, mult: float) -> float:
        config = _config(tmp_path, name, method="lora", max_steps=2, action_lr_mult=mult)
        _run(adapt_store, config)
        saved = json.loads((tmp_path / name / "config.json").read_text())["config"]
        assert saved["action_lr_mult"] == mult
        weights = load_file(str(tmp_path / name / "model.safetensors"))
        (key,) = [k for k in weights if "action_embed" in k]
        return float(weights[key].norm())

    # Adam's first steps move each entry by about the learning rate: ten times the rate, ten times the move
    ratio = table_norm("x10", 10.0) / table_norm("x1", 1.0)
    assert 5.0 < ratio < 15.0, ratio
    with pytest.raises(KinemicError, match="--action-lr-mult"):
        _config(tmp_path, "bad", action_lr_mult=0.0)


def test_action_every_frame_is_recorded_and_rebuilt(tmp_path, adapt_store):
    from kinemic_cli.adapt.student import _student_for
    from kinemic_cli.models.denoiser import create_denoiser

    _run(adapt_store, _config(tmp_path, "aef", method="lora", max_steps=2, action_every_frame=True))
    manifest = json.loads((tmp_path / "aef" / "adapted.json").read_text())
    assert manifest["action_every_frame"] is True
    model = create_denoiser("tiny", features=12, text_dim=384)
    _student_for(model, "lora", 3, rank=2, alpha=4.0, dropout=0.0, action_frames=manifest["action_every_frame"])
    assert model.config.action_frames is True
