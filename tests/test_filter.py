"""kinemic filter: a few-shot recogniser drops the generated clips it does not recognise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_kinemic
from har_support import CLASS_NAMES, write_har_store, write_synthetic

from kinemic_cli.errors import KinemicError
from kinemic_cli.generate.filter import filter_synthetic, load_judge
from kinemic_cli.har.data import load_clip_bank
from kinemic_cli.har.run import HarRunConfig, run_train_har
from kinemic_cli.har.train import TrainConfig

TINY = TrainConfig(model="stgcn-tiny", epochs=10, clip_len=16, batch_size=16, min_epoch_clips=128)
KICK = CLASS_NAMES.index("kick")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("filter")
    store = write_har_store(root / "toy.h5")
    # a generator that collapsed "nod" onto "kick": the nod clips move the knee, not the head
    write_synthetic(store, "synth", class_names=CLASS_NAMES, per_class=8, seed=3, shots=4,
                    label_of=lambda name: KICK if name == "nod" else CLASS_NAMES.index(name))
    # the judge is a recogniser of the same shots (the recipe's --train augment)
    cfg = HarRunConfig(collection="toy", train="augment", out=str(root / "judge"), shots=4, seeds=[1],
                       val_per_class=2, threads=1, training=TINY)
    run_train_har(cfg, store)
    return root, store


def test_filter_keeps_exactly_the_clips_the_judge_recognises(world):
    root, store = world
    proc = run_kinemic("filter", "synth", "--judge", str(root / "judge"), "--out", "synth-kept",
                       "--store", str(store.path), "--json")
    report = json.loads(proc.stdout)
    assert report["clips"] == 32 and report["judge"] == [str(root / "judge" / "seed1" / "last")]
    judge = load_judge(root / "judge")
    with store.collection("synth") as coll:
        bank = load_clip_bank(coll, np.arange(len(coll)), label_map={i: i for i in range(4)},
                              skeleton=judge.models[0][0].skeleton, persons=1, origin="synth")
        agree = judge.probabilities(bank).argmax(axis=1) == bank.labels
        expected_ids = [str(s) for s in np.asarray(coll.sample_ids)[agree]]
    with store.collection("synth-kept") as kept:
        assert [str(s) for s in kept.sample_ids] == expected_ids and report["kept"] == len(kept)
        assert kept.provenance["command"] == "filter" and kept.provenance["config"]["synthetic"] == "synth"
    # the collapsed class loses more clips than the faithful one it collapsed onto
    assert report["per_class"]["nod"]["kept"] < report["per_class"]["kick"]["kept"]
    strict = filter_synthetic(store, "synth", judge, "synth-strict", min_confidence=0.5)
    assert strict["kept"] <= report["kept"]


def test_filter_refuses_bad_input_in_one_line_and_keeps_the_store(world, tmp_path):
    root, store = world
    before = store.list()
    same = run_kinemic("filter", "synth", "--judge", str(root / "judge"), "--out", "synth", "--store", str(store.path),
                       check=False)
    assert same.returncode == 1 and same.stderr.strip().count("\n") == 0 and "must differ" in same.stderr
    nojudge = run_kinemic("filter", "synth", "--judge", str(tmp_path), "--out", "x", "--store", str(store.path),
                          check=False)
    assert nojudge.returncode == 1 and str(tmp_path) in nojudge.stderr and "run folder" in nojudge.stderr
    with pytest.raises(KinemicError, match="min-confidence"):
        filter_synthetic(store, "synth", load_judge(root / "judge"), "y", min_confidence=2.0)
    assert store.list() == before


def test_filter_refuses_a_set_made_from_other_shots_and_a_judge_of_all_clips(world, tmp_path):
    root, store = world
    write_synthetic(store, "synth-other-shots", class_names=CLASS_NAMES, per_class=2, seed=4, shots=4, fewshot_seed=7)
    other = run_kinemic("filter", "synth-other-shots", "--judge", str(root / "judge"), "--out", "x",
                        "--store", str(store.path), check=False)
    lines = other.stderr.strip().splitlines()
    assert other.returncode == 1 and len(lines) == 1
    assert "--fewshot-seed 7" in lines[0] and "--fewshot-seed 42" in lines[0]  # names both
    gt = HarRunConfig(collection="toy", train="gt", out=str(tmp_path / "gt"), shots=4, seeds=[1], val_per_class=2,
                      threads=1, training=TrainConfig(model="stgcn-tiny", epochs=1, clip_len=16, batch_size=16,
                                                      min_epoch_clips=16))
    run_train_har(gt, store)
    with pytest.raises(KinemicError, match="not trained on few-shot clips"):
        load_judge(tmp_path / "gt")
    assert "x" not in store.list()
