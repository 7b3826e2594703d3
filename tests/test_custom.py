"""The custom adapter (npy clips + labels.csv / texts) and the npy export that it reads back."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml
from roundtrip_support import assert_same_collection, kinetics_collection, ntu_collection, t2m_collection

from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store.export import export_collection
from kinemic_cli.store.prepare import prepare_dataset

ARM = {"name": "arm5", "joint_names": ["shoulder", "elbow", "wrist", "hand", "finger"],
       "parents": [-1, 0, 1, 2, 3], "fps": 50, "landmarks": {"root": 0}}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_labelled_folder_with_yaml_skeleton(tmp_path, store):
    root = tmp_path / "mine"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 5, 3))  # float64 (T, J, C): one person
    b = rng.normal(size=(16, 2, 5, 3)).astype(np.float32)  # (T, M, J, C)
    np.save(root / "a.npy", a)
    np.save(root / "sub" / "b.npy", b)
    np.save(root / "c.npy", rng.normal(size=(10, 6, 3)))  # wrong joint count
    np.save(root / "d.npy", np.full((10, 5, 3), np.nan))
    np.save(root / "e.npy", rng.normal(size=(10, 5, 3)))
    (root / "e.npy").write_bytes((root / "e.npy").read_bytes()[:150])  # broken download
    np.save(root / "f.npy", rng.normal(size=(9, 5, 3)))
    skeleton_file = tmp_path / "arm.yaml"
    skeleton_file.write_text(yaml.safe_dump(ARM))
    _write_csv(root / "labels.csv", [
        {"file": "a.npy", "label": "reach", "subject": "3", "camera": "", "caption": "", "split": "train", "hand": "left"},
        {"file": "sub/b.npy", "label": "grasp", "subject": "4", "camera": "2", "caption": "two people grasp a cup",
         "split": "val;fold1/train", "hand": "right"},
        {"file": "c.npy", "label": "reach", "subject": "1", "camera": "", "caption": "", "split": "", "hand": "left"},
        {"file": "d.npy", "label": "reach", "subject": "1", "camera": "", "caption": "", "split": "", "hand": "left"},
        {"file": "e.npy", "label": "reach", "subject": "1", "camera": "", "caption": "", "split": "", "hand": "left"},
        {"file": "f.npy", "label": "", "subject": "1", "camera": "", "caption": "", "split": "", "hand": "left"},
        {"file": "g.npy", "label": "reach", "subject": "x", "camera": "", "caption": "", "split": "", "hand": "left"},
        {"file": "missing.npy", "label": "reach", "subject": "", "camera": "", "caption": "", "split": "", "hand": "l"},
    ])
    report = prepare_dataset("custom", PrepareRequest(root=root, skeleton_file=skeleton_file), store)
    assert report.clips == 2
    assert report.skipped_by_reason == {"no label": 1, "bad metadata": 1, "wrong joint count": 1, "NaN": 1,
                                        "truncated": 1, "missing file": 1}
    with store.collection("custom") as coll:
        assert coll.kind == "har" and coll.skeleton.name == "arm5" and coll.fps == 50 and coll.persons == 2
        assert coll.class_names == ["grasp", "reach"] and list(coll.sample_ids) == ["a", "sub/b"]
        np.testing.assert_array_equal(coll.frames(0)[:, 0], a.astype(np.float32))
        assert not coll.frames(0)[:, 1].any()
        np.testing.assert_array_equal(coll.frames(1), b)
        assert coll.labels.tolist() == [1, 0] and coll.meta("subject").tolist() == [3, 4]
        assert coll.meta("camera").tolist() == [-1, 2] and list(coll.meta("hand")) == ["left", "right"]
        assert coll.captions(0)[0].text == "reach" and coll.captions(1)[0].text == "two people grasp a cup"
        assert coll.split("fold1/train").tolist() == [1] and coll.split("train").tolist() == [0]
        assert coll.attrs["protocols"] == ["fold1"]
    with pytest.raises(KinemicError, match="needs --skeleton NAME"):
        prepare_dataset("custom", PrepareRequest(root=root), store, collection="x")
    with pytest.raises(KinemicError, match="unknown skeleton 'nope'"):
        prepare_dataset("custom", PrepareRequest(root=root, skeleton="nope"), store, collection="x")


def test_captioned_folder_without_labels_is_t2m(tmp_path, store):
    root = tmp_path / "corpus"
    (root / "texts").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for sid in ("m1", "m2", "m3"):
        np.save(root / f"{sid}.npy", rng.normal(size=(30, 22, 3)).astype(np.float32))
    (root / "texts" / "m1.txt").write_text("a person waves.#a/DET#0#0\nthen bows.##0.5#1.0\n")
    (root / "texts" / "m2.txt").write_text("a person jumps.##0#0\n")
    report = prepare_dataset("custom", PrepareRequest(root=root, skeleton="smpl22"), store)
    assert report.clips == 2 and report.skipped_by_reason == {"no captions": 1}
    with store.collection("custom") as coll:
        assert coll.kind == "t2m" and coll.fps == 20 and coll.labels.tolist() == [-1, -1]
        assert [(c.text, c.start, c.end) for c in coll.captions(0)] == [("a person waves.", 0, 30), ("then bows.", 10, 20)]
    with pytest.raises(KinemicError, match="--classes needs labels"):
        prepare_dataset("custom", PrepareRequest(root=root, skeleton="smpl22", classes=["x"]), store, collection="y")


@pytest.mark.parametrize("source", ["ntu", "kinetics", "t2m"])
def test_npy_export_reads_back_identically(tmp_path, store, source):
    make = {"ntu": ntu_collection, "kinetics": kinetics_collection, "t2m": t2m_collection}[source]
    make(store, tmp_path / "release", name="orig")
    out = tmp_path / "exported"
    with store.collection("orig") as coll:
        report = export_collection(coll, "npy", out)
        assert report.clips == len(coll)
    assert (out / "labels.csv").is_file() and (out / "skeleton.yaml").is_file()
    prepare_dataset("custom", PrepareRequest(root=out), store, collection="back")
    with store.collection("orig") as a, store.collection("back") as b:
        assert_same_collection(a, b)
    with store.collection("orig") as coll, pytest.raises(KinemicError, match="not an empty folder"):
        export_collection(coll, "npy", out)


def test_npy_export_of_one_split(tmp_path, store):
    ntu_collection(store, tmp_path / "release")
    with store.collection("ntu60") as coll:
        export_collection(coll, "npy", tmp_path / "train", split="xsub/train")
        expected = sorted(str(s) for s in coll.sample_ids[coll.split("xsub/train")])
    rows = list(csv.DictReader(open(tmp_path / "train" / "labels.csv")))
    assert sorted(r["file"][:-4] for r in rows) == expected
    assert all("xsub/train" in r["split"].split(";") for r in rows)
