"""kinemic evaluate: the cached evaluator, generative metrics, the report / uplift table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_kinemic
from har_support import CLASS_NAMES, stamp_of_shots, write_har_store, write_synthetic

from kinemic_cli.errors import KinemicError
from kinemic_cli.evaluate.evaluator import ensure_evaluator, generative_metrics
from kinemic_cli.evaluate.report import build_report
from kinemic_cli.evaluate.scorecard import scorecard
from kinemic_cli.har.run import HarRunConfig, run_train_har
from kinemic_cli.har.train import TrainConfig

TINY = TrainConfig(model="stgcn-tiny", epochs=3, clip_len=16, batch_size=16, min_epoch_clips=128)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    store = write_har_store(root / "toy.h5")
    write_synthetic(store, "good", class_names=CLASS_NAMES, per_class=8, seed=3, shots=3)
    write_synthetic(store, "noisy", class_names=CLASS_NAMES, per_class=8, seed=3, noise=0.3)
    evaluator = ensure_evaluator(root / "evaluator", store, "toy", cfg=TINY)
    return root, store, evaluator


def test_evaluator_is_trained_once_and_checked(world):
    root, store, evaluator = world
    files = root / "evaluator" / "evaluator.safetensors"
    stamp = files.stat().st_mtime_ns
    again = ensure_evaluator(root / "evaluator", store, "toy", cfg=TINY)
    assert files.stat().st_mtime_ns == stamp and again.class_names == CLASS_NAMES
    assert again.meta["train_clips"] == 64  # all real training clips, no validation carve
    assert json.loads((root / "evaluator" / "config.json").read_text())["provenance"]["command"].startswith("evaluate")
    write_har_store(root / "other.h5", name="other")
    with pytest.raises(KinemicError, match="trained on collection 'toy'"):
        from kinemic_cli.store import MotionStore
        ensure_evaluator(root / "evaluator", MotionStore(root / "other.h5"), "other", cfg=TINY)


def test_generative_metrics_rank_a_faithful_set_above_a_noisy_one(world):
    _, store, evaluator = world
    good = generative_metrics(evaluator, store, "good")
    noisy = generative_metrics(evaluator, store, "noisy")
    assert good["fid"] < noisy["fid"]
    assert good["clips"] == 32 and set(good["per_class_accuracy"]) == set(CLASS_NAMES)
    ref = good["reference"]
    assert ref["fid_train_vs_test"] >= 0 and ref["test_clips"] == 32 and 0 <= ref["accuracy_test"] <= 1
    assert good["diversity"] > 0 and good["multimodality"] > 0
    assert generative_metrics(evaluator, store, "good") == {**good, "seconds": pytest.approx(good["seconds"], abs=60)}
    with pytest.raises(KinemicError, match="no such collection"):
        generative_metrics(evaluator, store, "missing")


def test_generative_metrics_of_a_set_with_an_empty_class(world):
    """A filtered set keeps every class name but may hold no clip of some class."""
    _, store, evaluator = world
    writer = store.writer("partial", skeleton=evaluator.model.skeleton, fps=20, class_names=CLASS_NAMES, kind="har",
                          persons=1)
    with store.collection("good") as good:
        for i in range(len(good)):
            if good.class_names[good.labels[i]] != "nod":
                writer.add(good.clip(i))
    writer.commit({"command": "test"})
    partial = generative_metrics(evaluator, store, "partial")
    assert partial["clips"] == 24 and partial["classes"] == [n for n in CLASS_NAMES if n != "nod"]


def test_report_builds_the_table_with_plots(world, tmp_path):
    root, store, evaluator = world
    runs = []
    for setting, synth in (("real", None), ("mixed", "good")):
        cfg = HarRunConfig(collection="toy", train=setting, synthetic=synth, out=str(tmp_path / setting), shots=3,
                           seeds=[1, 2], val_per_class=2, threads=1, training=TINY)
        run_train_har(cfg, store)
        runs.append(tmp_path / setting)
    report = build_report(runs, tmp_path / "report", evaluator=evaluator, store=store, title="toy uplift")
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| real |" in text and "| mixed: good |" in text and "real (reference)" in text
    assert [r["label"] for r in report["rows"]] == ["real", "mixed: good"]
    assert report["rows"][1]["generative"]["clips"] == 32 and "generative" not in report["rows"][0]
    for fig in report["figures"]:
        assert (tmp_path / "report" / fig).read_bytes()[:4] == b"\x89PNG"
    assert any(f.startswith("features-") for f in report["figures"])
    # the CLI reads the same runs and the cached evaluator
    proc = run_kinemic("evaluate", *map(str, runs), "--store", str(store.path), "--evaluator", str(root / "evaluator"),
                       "--labels", "real only,kinemic-mixed", "--out", str(tmp_path / "cli"), "--json")
    rows = json.loads(proc.stdout)["rows"]
    assert [r["label"] for r in rows] == ["real only", "kinemic-mixed"]
    assert rows[1]["generative"]["fid"] == pytest.approx(report["rows"][1]["generative"]["fid"], rel=1e-6)
    proc = run_kinemic("evaluate", "--synthetic", "noisy", "--dataset", "toy", "--store", str(store.path),
                       "--evaluator", str(root / "evaluator"), "--json")
    card = json.loads(proc.stdout)["scorecards"][0]
    assert card["synthetic"] == "noisy" and card["overall"]["fid"] > 0 and card["overall"]["evaluator_accuracy"] >= 0
    speeds_only = run_kinemic("evaluate", "--synthetic", "noisy", "--dataset", "toy", "--store", str(store.path))
    assert "speed ratio" in speeds_only.stdout and "evaluator" not in speeds_only.stdout


def _copy(store, name, indices, *, frozen=False):
    with store.collection("toy") as real:
        writer = store.writer(name, skeleton=real.skeleton, fps=real.fps, class_names=real.class_names, kind="har",
                              persons=1, attrs={"fewshot": stamp_of_shots(store, 3)})
        for i in indices:
            clip = real.clip(int(i))
            if frozen:
                clip.frames = np.repeat(clip.frames[:1], clip.length, axis=0)
            clip.splits = ()
            writer.add(clip)
        writer.commit({"command": "test"})


def test_scorecard_of_a_copy_of_the_real_clips_is_the_real_reference(world):
    _, store, evaluator = world
    with store.collection("toy") as real:
        train, test = real.split("xsub/train"), real.split("xsub/val")
    _copy(store, "copy-train", train)
    _copy(store, "copy-test", test)
    _copy(store, "frozen", train[:8], frozen=True)
    card = scorecard(store, "copy-train")
    assert card["real"] == "toy" and card["fewshot_split"] == "fewshot/k3-s42/train"
    for row in card["per_class"].values():
        assert row["speed_ratio"] == pytest.approx(1.0, abs=1e-12) and row["speed"] > 0
        assert row["speed_ratio_raw"] == pytest.approx(1.0, abs=1e-12) and row["speed_raw"] >= row["speed"]
    assert card["overall"]["classes_within_0.8_1.2"] == 4
    test_card = scorecard(store, "copy-test", evaluator=evaluator)
    ref = test_card["overall"]
    assert ref["evaluator_accuracy"] == pytest.approx(ref["evaluator_accuracy_real_reference"], abs=1e-12)
    assert abs(ref["fid"]) < 1e-6  # the same clips as the real test set
    frozen = scorecard(store, "frozen")
    assert all(row["speed"] == 0.0 and row["speed_ratio"] == 0.0 for row in frozen["per_class"].values())


def test_shot_distance_of_the_shots_is_zero_and_of_other_real_clips_is_the_reference(world):
    """A copy of the shots hands them back (distance 0); a copy of the other training-side clips
    is the real reference itself (ratio 1); a frozen first frame lies further from the shots."""
    from kinemic_cli.store.splits import FewShotSplit

    _, store, _ = world
    fewshot = FewShotSplit.from_dict(stamp_of_shots(store, 3))
    with store.collection("toy") as real:
        shots = fewshot.indices_in(real)
        others = np.setdiff1d(real.split("xsub/train"), shots)
    _copy(store, "copy-shots", shots)
    _copy(store, "copy-others", others)
    _copy(store, "frozen-others", others, frozen=True)
    copies = scorecard(store, "copy-shots")
    assert copies["overall"]["shot_distance"] == 0.0 and copies["overall"]["shot_distance_real"] > 0
    assert all(r["shot_distance"] == 0.0 and r["shot_distance_ratio"] == 0.0 for r in copies["per_class"].values())
    reference = scorecard(store, "copy-others")
    assert reference["overall"]["shot_distance_ratio"] == pytest.approx(1.0, abs=1e-12)
    for row in reference["per_class"].values():
        assert row["shot_distance"] == pytest.approx(row["shot_distance_real"], abs=1e-12)
        assert row["shot_distance"] > 0
    frozen = scorecard(store, "frozen-others")
    assert frozen["overall"]["shot_distance_ratio"] > 1.0


def test_speed_measures_movement_not_sensor_jitter():
    """A 1 Hz arm swing keeps its speed through the 50 ms low-pass; frame-to-frame jitter of
    2 cm (a Kinect's) loses most of it, so jitter alone cannot make a clip look animated."""
    from kinemic_cli.evaluate.scorecard import mean_joint_speed
    from kinemic_cli.skeletons import SMPL22

    rng = np.random.default_rng(0)
    t = np.arange(60) / 20.0
    still = np.repeat(np.random.default_rng(1).normal(scale=0.3, size=(1, 1, 22, 3)), 60, axis=0)
    swing = still.copy()
    swing[:, 0, 20:22, 1] += 0.3 * np.sin(2 * np.pi * t)[:, None]  # both wrists, up and down
    jitter = still + rng.normal(scale=0.02, size=still.shape)
    assert mean_joint_speed(swing, SMPL22, 20.0) == pytest.approx(mean_joint_speed(swing, SMPL22, 20.0, smoothing_s=0),
                                                                rel=0.07)
    assert mean_joint_speed(jitter, SMPL22, 20.0) < 0.5 * mean_joint_speed(jitter, SMPL22, 20.0, smoothing_s=0)
    assert mean_joint_speed(still, SMPL22, 20.0) == 0.0
