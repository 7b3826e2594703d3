"""pyskl interop: export -> import round trips, foreign pyskl files, and a malicious pickle refused."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from conftest import run_kinemic
from ntu_fixtures import ntu_name, write_clip
from roundtrip_support import assert_same_collection, kinetics_collection, ntu_collection, t2m_collection

from datasets_plugins.pyskl import kinemic_split_name
from datasets_plugins.safe_pickle import load_data_pickle
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store import MotionStore
from kinemic_cli.store.export import export_collection
from kinemic_cli.store.prepare import prepare_dataset


@pytest.mark.parametrize("source", ["ntu", "kinetics", "t2m"])
def test_export_import_gives_identical_collections(tmp_path, store, source):
    make = {"ntu": ntu_collection, "kinetics": kinetics_collection, "t2m": t2m_collection}[source]
    make(store, tmp_path / "release", name="orig")
    out = tmp_path / "orig.pkl"
    with store.collection("orig") as coll:
        export_collection(coll, "pyskl", out)
    prepare_dataset("pyskl", PrepareRequest(root=out), store, collection="back")
    with store.collection("orig") as a, store.collection("back") as b:
        assert_same_collection(a, b, frame_data=False)  # pyskl has no place for per-frame features


def test_persons_survive_when_every_clip_has_one_body(tmp_path, store):
    root = tmp_path / "ntu"
    write_clip(root, ntu_name(1, 1, 1, 1, 1), frames=9)
    prepare_dataset("ntu60", PrepareRequest(root=root), store, collection="orig")
    with store.collection("orig") as coll:
        assert coll.persons == 2
        export_collection(coll, "pyskl", tmp_path / "one.pkl")
    prepare_dataset("pyskl", PrepareRequest(root=tmp_path / "one.pkl"), store, collection="back")
    with store.collection("orig") as a, store.collection("back") as b:
        assert_same_collection(a, b)


def test_exported_file_is_what_pyskl_reads(tmp_path, store):
    ntu_collection(store, tmp_path / "ntu")
    kinetics_collection(store, tmp_path / "kin")
    with store.collection("ntu60") as coll:
        export_collection(coll, "pyskl", tmp_path / "ntu.pkl")
        first_two_person = int(np.flatnonzero(coll.meta("bodies") == 2)[0])
        expected = coll.frames(first_two_person)
        train = sorted(str(s) for s in coll.sample_ids[coll.split("xsub/train")])
    with open(tmp_path / "ntu.pkl", "rb") as f:  # our own file, written a moment ago
        data = pickle.load(f)
    assert set(data["split"]) == {"xsub_train", "xsub_val", "xview_train", "xview_val"}
    assert sorted(data["split"]["xsub_train"]) == train
    ann = data["annotations"][first_two_person]
    assert set(ann) == {"frame_dir", "label", "total_frames", "keypoint"}
    assert ann["keypoint"].dtype == np.float32 and ann["keypoint"].shape == (2, ann["total_frames"], 25, 3)
    np.testing.assert_array_equal(ann["keypoint"], expected.transpose(1, 0, 2, 3))
    assert data["annotations"][0]["keypoint"].shape[0] == 1  # one-person clips: M = 1, as pyskl's
    with store.collection("kinetics") as coll:
        export_collection(coll, "pyskl", tmp_path / "kin.pkl")
        frames = coll.frames(0)
    with open(tmp_path / "kin.pkl", "rb") as f:
        kin = pickle.load(f)["annotations"][0]
    np.testing.assert_array_equal(kin["keypoint"], frames[..., :2].transpose(1, 0, 2, 3)[: kin["keypoint"].shape[0]])
    np.testing.assert_array_equal(kin["keypoint_score"], frames[..., 2].transpose(1, 0, 2)[: kin["keypoint"].shape[0]])
    with store.collection("kinetics") as coll, pytest.raises(KinemicError, match="use --overwrite"):
        export_collection(coll, "pyskl", tmp_path / "kin.pkl")


def test_foreign_pyskl_files(tmp_path, store):
    rng = np.random.default_rng(0)
    three_d = {
        "split": {"xsub_train": ["S001C001P001R001A001"], "xsub_val": ["S001C002P003R001A002"]},
        "annotations": [
            {"frame_dir": "S001C001P001R001A001", "label": 0, "total_frames": 7,
             "keypoint": rng.normal(size=(1, 7, 25, 3)).astype(np.float32)},
            {"frame_dir": "S001C002P003R001A002", "label": np.int64(1), "total_frames": 5,
             "keypoint": rng.normal(size=(2, 5, 25, 3)).astype(np.float32)},
            {"frame_dir": "S001C002P003R001A003", "label": 2, "total_frames": 9,
             "keypoint": rng.normal(size=(1, 5, 25, 3)).astype(np.float32)},
            {"frame_dir": "S001C002P003R001A001", "label": 0, "total_frames": 5,
             "keypoint": rng.normal(size=(1, 5, 21, 3)).astype(np.float32)},
        ],
    }
    path = tmp_path / "ntu60_3danno.pkl"
    # protocol 2 (``_codecs``, ``__builtin__``) with numpy 1.x's module names, as old pyskl files have them
    old = pickle.dumps(three_d, protocol=2).replace(b"numpy._core.", b"numpy.core.")
    assert b"numpy.core.multiarray" in old
    path.write_bytes(old)
    report = prepare_dataset("pyskl", PrepareRequest(root=path, options={"class_names": "ntu60"}), store)
    assert report.clips == 2 and report.skipped_by_reason == {"length mismatch": 1, "wrong joint count": 1}
    with store.collection("pyskl") as coll:
        assert coll.skeleton.name == "ntu25" and coll.persons == 2 and coll.class_names[1] == "eat meal/snack"
        assert coll.split("xsub/train").tolist() == [0] and coll.attrs["protocols"] == ["xsub"]
        assert coll.meta("subject").tolist() == [1, 3] and coll.meta("camera").tolist() == [1, 2]
        np.testing.assert_array_equal(coll.frames(1), three_d["annotations"][1]["keypoint"].transpose(1, 0, 2, 3))
    two_d = {"split": {"train": ["a"]}, "annotations": [
        {"frame_dir": "a", "label": 3, "total_frames": 4, "img_shape": (1080, 1920), "original_shape": (1080, 1920),
         "keypoint": rng.uniform(0, 1000, size=(1, 4, 17, 2)).astype(np.float32),
         "keypoint_score": rng.uniform(size=(1, 4, 17)).astype(np.float32)}]}
    path2 = tmp_path / "hrnet.pkl"
    path2.write_bytes(pickle.dumps(two_d, protocol=5))
    prepare_dataset("pyskl", PrepareRequest(root=path2), store, collection="coco")
    with store.collection("coco") as coll:
        assert coll.skeleton.name == "coco17" and coll.class_names == [f"class {k}" for k in range(4)]
        frames = coll.frames(0)[:, 0]
        np.testing.assert_array_equal(frames[..., :2], two_d["annotations"][0]["keypoint"][0])
        np.testing.assert_array_equal(frames[..., 2], two_d["annotations"][0]["keypoint_score"][0])
        assert coll.split("train").tolist() == [0]
    assert kinemic_split_name("xview_val") == "xview/val" and kinemic_split_name("my_set_test") == "my_set/test"
    assert kinemic_split_name("train") == "train"


class _RunsCode:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "annotations.pkl"
    evil.write_bytes(pickle.dumps({"split": {}, "annotations": [_RunsCode(f"touch {marker}")]}))
    proc = run_kinemic("prepare", "--dataset", "pyskl", "--root", str(evil), "--store", str(tmp_path / "k.h5"),
                       "--json", check=False)
    assert proc.returncode == 1 and not marker.exists()
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(evil) in lines[0]
    assert "refused to load global posix.system" in lines[0]
    assert not (tmp_path / "k.h5").exists()
    eval_pickle = tmp_path / "eval.pkl"
    eval_pickle.write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(KinemicError, match="refused to load global builtins.eval"):
        load_data_pickle(eval_pickle)
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps({"a": np.zeros(100)})[:60])
    with pytest.raises(KinemicError, match="not a readable pickle"):
        load_data_pickle(tmp_path / "cut.pkl")


def test_cli_export_then_prepare(tmp_path):
    store_path = tmp_path / "k.h5"
    ntu_collection(MotionStore(store_path), tmp_path / "ntu")
    out = json.loads(run_kinemic("store", "export", "ntu60", "--format", "pyskl", "--out", str(tmp_path / "n.pkl"),
                                 "--store", str(store_path), "--json").stdout)
    assert out["clips"] == 5 and out["format"] == "pyskl"
    proc = run_kinemic("store", "export", "ntu60", "--format", "csv", "--out", str(tmp_path / "x"), "--store",
                       str(store_path), "--json", check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == "Error: --format must be one of pyskl, npy, got 'csv'"
