"""train-har: pre-normalisation, sampling, honest splits, reproducible training, the real CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_kinemic
from har_support import CLASS_NAMES, standing_pose, write_har_store, write_synthetic

from kinemic_cli.errors import KinemicError
from kinemic_cli.har.data import prenormalise, sample_indices
from kinemic_cli.har.run import HarRunConfig, run_train_har
from kinemic_cli.har.sets import build_har_sets
from kinemic_cli.har.train import TrainConfig, load_recogniser
from kinemic_cli.skeletons import NTU25, OPENPOSE18, SMPL22, convert_joints

TINY = TrainConfig(model="stgcn-tiny", epochs=2, clip_len=16, batch_size=16, min_epoch_clips=64)


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory):
    return write_har_store(tmp_path_factory.mktemp("har") / "toy.h5")


def _random_rigid(frames: np.ndarray, rng) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))  # a rotation, not a reflection
    return (frames @ q.T + rng.normal(size=3)).astype(np.float32)


@pytest.mark.parametrize("skeleton", [SMPL22, NTU25], ids=lambda s: s.name)
def test_prenormalise_puts_hips_on_x_and_spine_on_y(skeleton):
    pose = standing_pose() if skeleton is SMPL22 else convert_joints(standing_pose()[None, None], "smpl22", "ntu25")[0, 0]
    rng = np.random.default_rng(0)
    clip = np.repeat(pose[None, None], 5, axis=0) + rng.normal(scale=0.01, size=(5, 1, skeleton.num_joints, 3))
    moved = _random_rigid(clip.astype(np.float32), rng)
    out = prenormalise(moved, skeleton)
    first = out[0, 0]
    lm = skeleton.landmarks
    np.testing.assert_allclose(first[lm["root"]], 0, atol=1e-5)
    spine = first[lm["neck"]] - first[lm["root"]]
    np.testing.assert_allclose(spine[[0, 2]], 0, atol=1e-5)
    assert spine[1] > 0
    hips = first[lm["right_hip"]] - first[lm["left_hip"]]
    assert hips[0] > 0 and abs(hips[2]) < 1e-5
    # whatever rigid motion the camera added, the normalised clip is the same
    np.testing.assert_allclose(prenormalise(_random_rigid(clip.astype(np.float32), rng), skeleton), out, atol=1e-4)


def test_prenormalise_2d_centres_and_scales_without_rotating():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0.3, 0.7, size=(6, 1, 18, 2))
    clip = np.concatenate([xy, np.full((6, 1, 18, 1), 0.8)], axis=-1).astype(np.float32)
    out = prenormalise(clip, OPENPOSE18)
    np.testing.assert_allclose(out[:, 0, 1, :2].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out[..., 2], 0.8)
    # a pure scaling+shift of the input gives the same output (no rotation is applied)
    clip2 = clip.copy()
    clip2[..., :2] = clip[..., :2] * 3 + 1
    np.testing.assert_allclose(prenormalise(clip2, OPENPOSE18), out, atol=1e-4)


def test_uniform_sampling():
    idx = sample_indices(np.array([100, 10]), 8, None)
    assert idx.shape == (2, 8) and idx[0, 0] == 6 and idx[0, -1] == 93
    assert np.all(np.diff(idx, axis=1) >= 0) and idx[1].max() == 9
    rand = sample_indices(np.array([100] * 50), 8, np.random.default_rng(0))
    assert np.all((rand >= np.floor(np.arange(8) * 12.5)) & (rand < (np.arange(8) + 1) * 12.5))
    assert len(np.unique(rand[:, 0])) > 5


def test_splits_are_disjoint_and_test_is_never_selection(toy_store):
    sets = build_har_sets(toy_store, "toy", train="gt", shots=3, fewshot_seed=5, val_per_class=2)
    shots, val, test, gt = (set(sets.indices[k]) for k in ("shots", "val", "test", "gt"))
    assert len(shots) == 12 and len(val) == 8 and len(test) == 32
    assert not (val & test) and not (val & shots) and not (gt & val) and not (gt & test)
    with toy_store.collection("toy") as coll:
        assert set(sets.indices["test"]) == set(coll.split("xsub/val").tolist())
        assert shots == set(coll.split("fewshot/k3-s5/train").tolist())  # the same draw prepare/adapt use
    sub = build_har_sets(toy_store, "toy", train="real", shots=3, fewshot_seed=5, classes="kick,nod")
    assert sub.class_names == ["kick", "nod"] and len(sub.train) == 6 and set(sub.test.labels) == {0, 1}
    assert set(sub.indices["shots"]) <= shots  # a class subset keeps the same shots


def test_synthetic_labels_are_matched_by_name(toy_store):
    write_synthetic(toy_store, "toy-synth", class_names=["nod", "kick"], per_class=3, shots=2)
    sets = build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth", classes="kick,nod")
    synth = sets.train.origin == "synth"
    assert synth.sum() == 6 and sets.counts()["train"] == {"real": 4, "synth": 6}
    # collection label 0 ("nod") must become recogniser class 1 ("nod")
    with toy_store.collection("toy-synth") as coll:
        assert coll.class_names[0] == "nod"
        np.testing.assert_array_equal(sets.train.labels[synth], np.where(coll.labels == 0, 1, 0))
    with pytest.raises(KinemicError, match="no clips of classes"):
        build_har_sets(toy_store, "toy", train="synth", shots=2, synthetic="toy-synth")
    # mixed: classes without synthetic clips train on their real shots alone
    every = build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth")
    assert every.counts()["train"] == {"real": 2 * len(every.class_names), "synth": 6}
    assert set(every.train.labels[every.train.origin == "synth"]) == {every.class_names.index("nod"),
                                                                      every.class_names.index("kick")}
    # --augment-shots: the shots' geometric copies join the shots and the synthetic clips
    both = build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth", classes="kick,nod",
                          augment_shots=True, augment_copies=3)
    assert both.counts()["train"] == {"real": 4, "augment": 12, "synth": 6}
    with pytest.raises(KinemicError, match="no few-shot clips to augment"):
        build_har_sets(toy_store, "toy", train="synth", shots=2, synthetic="toy-synth", classes="kick,nod",
                       augment_shots=True)
    write_synthetic(toy_store, "toy-alien", class_names=["fly"], per_class=2, label_of=lambda name: 2, shots=2)
    with pytest.raises(KinemicError, match="not classes of the dataset"):
        build_har_sets(toy_store, "toy", train="synth", shots=2, synthetic="toy-alien")


def test_a_synthetic_set_made_from_other_shots_is_refused(toy_store):
    write_synthetic(toy_store, "toy-synth-k2", class_names=["nod", "kick"], per_class=2, shots=2)
    for shots, seed in ((3, 42), (2, 7)):  # other shot count, other draw
        with pytest.raises(KinemicError, match="made from the shots fewshot/k2-s42/train") as caught:
            build_har_sets(toy_store, "toy", train="mixed", shots=shots, fewshot_seed=seed, synthetic="toy-synth-k2")
        assert f"--shots {shots} --fewshot-seed {seed}" in str(caught.value)
    write_synthetic(toy_store, "toy-synth-unknown", class_names=["nod"], per_class=2)  # no record of its shots
    with pytest.raises(KinemicError, match="records no few-shot split"):
        build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth-unknown")
    sets = build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth-k2")
    assert sets.fewshot.split == "fewshot/k2-s42/train" and len(sets.fewshot.sample_ids) == 2 * 4


def test_same_seed_same_numbers(toy_store, tmp_path):
    def run(out, seeds):
        cfg = HarRunConfig(collection="toy", train="real", out=str(tmp_path / out), shots=4, seeds=seeds,
                           val_per_class=2, threads=1, training=TINY)
        return run_train_har(cfg, toy_store)
    a, b = run("a", [3]), run("b", [3])
    assert a["per_seed"][0]["last"] == b["per_seed"][0]["last"]
    assert a["per_seed"][0]["selected"]["confusion"] == b["per_seed"][0]["selected"]["confusion"]
    model, cfg, meta = load_recogniser(tmp_path / "a" / "seed3" / "last")
    assert meta["class_names"] == CLASS_NAMES and cfg.clip_len == 16
    with pytest.raises(KinemicError, match="already holds results.json"):
        run("a", [3])


def test_train_har_cli_end_to_end(toy_store, tmp_path):
    out = tmp_path / "run"
    proc = run_kinemic("train-har", "--dataset", "toy", "--store", str(toy_store.path), "--train", "augment",
                       "--shots", "4", "--seeds", "1", "2", "--epochs", "2", "--model", "stgcn-tiny", "--clip-len", "16",
                       "--batch-size", "16", "--min-epoch-clips", "64", "--augment-copies", "2", "--val-per-class", "2",
                       "--protocol", "xsub", "--threads", "1", "--out", str(out), "--json")
    result = json.loads(proc.stdout)
    assert result["seeds"] == [1, 2] and result["headline"] == "last" and result["test_split"] == "xsub/val"
    assert result["clips"] == {"train": {"real": 16, "augment": 32}, "val": 8, "test": 32}
    for which in ("last", "selected"):
        stat = result["summary"][which]["accuracy"]
        assert stat["n"] == 2 and 0 <= stat["mean"] <= 1 and set(result["summary"][which]["per_class"]) == set(CLASS_NAMES)
    seed = result["per_seed"][0]
    assert np.asarray(seed["last"]["confusion"]).sum() == 32 and 1 <= seed["selected"]["epoch"] <= 2
    data = json.loads((out / "data.json").read_text())
    assert not set(data["val"]) & set(data["test"])
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["lr"] == pytest.approx(0.1 * 16 / 128) and config["provenance"]["command"] == "train-har"
    assert (out / "seed2" / "selected.safetensors").exists() and (out / "seed1" / "metrics.csv").read_text().startswith("epoch")
    bad = run_kinemic("train-har", "--dataset", "toy", "--store", str(toy_store.path), "--train", "mixed",
                      "--out", str(tmp_path / "bad"), check=False)
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0 and "--synthetic" in bad.stderr


def test_synthetic_weight_is_the_weighted_mean_of_the_cross_entropy():
    import torch
    import torch.nn.functional as F

    from kinemic_cli.har.train import weighted_loss

    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(6, 4, generator=g), torch.tensor([0, 1, 2, 3, 0, 1])
    ones = torch.ones(6)
    assert torch.allclose(weighted_loss(logits, labels, ones), F.cross_entropy(logits, labels))
    w = torch.tensor([1.0, 1.0, 1.0, 0.25, 0.25, 0.25])  # the last three are synthetic at weight 0.25
    ce = F.cross_entropy(logits, labels, reduction="none")
    assert torch.allclose(weighted_loss(logits, labels, w), (w * ce).sum() / w.sum())
    assert torch.allclose(weighted_loss(logits, labels, torch.tensor([1.0, 1, 1, 0, 0, 0])), ce[:3].mean())


def test_augment_synthetic_changes_each_generated_clip_but_not_their_number(toy_store):
    write_synthetic(toy_store, "toy-synth-aug", class_names=["nod", "kick"], per_class=3, shots=2)
    plain = build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth-aug")
    augmented = build_har_sets(toy_store, "toy", train="mixed", shots=2, synthetic="toy-synth-aug",
                               augment_synthetic=True)
    assert augmented.counts() == plain.counts()
    synth = plain.train.origin == "synth"
    assert (augmented.train.origin == "synth").sum() == synth.sum() == 6
    a, b = augmented.train.data[synth], plain.train.data[synth]
    frames = min(a.shape[1], b.shape[1])
    assert not np.allclose(a[:, :frames], b[:, :frames])
    a, b = augmented.train.data[~synth], plain.train.data[~synth]
    np.testing.assert_array_equal(a[:, : b.shape[1]], b[:, : a.shape[1]])  # the shots are untouched
