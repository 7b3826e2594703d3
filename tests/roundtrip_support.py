"""Small real collections to export, and a field-by-field comparison of two collections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ntu_fixtures import kinetics_person, ntu_name, write_clip, write_kinetics

from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store import Collection, MotionStore
from kinemic_cli.store.prepare import prepare_dataset


def ntu_collection(store: MotionStore, root: Path, name: str = "ntu60") -> None:
    """Two-person and one-person NTU clips with extras (17-digit ids), xsub and xview splits."""
    for k, spec in enumerate([(1, 1, 1, 1, 1), (1, 2, 3, 1, 1), (2, 3, 4, 2, 50), (3, 1, 7, 1, 58), (3, 2, 8, 2, 2)]):
        write_clip(root, ntu_name(*spec), frames=15 + 3 * k, persons=2 if spec[4] >= 50 else 1, seed=k)
    prepare_dataset("ntu60", PrepareRequest(root=root), store, collection=name)


def kinetics_collection(store: MotionStore, root: Path, name: str = "kinetics") -> None:
    rng = np.random.default_rng(7)
    table = {}
    for k, vid in enumerate(["v1", "v2", "v3"]):
        people = [[kinetics_person(rng, score=rng.uniform(0.1, 0.9)) for _ in range(1 + (t + k) % 3)] for t in range(12)]
        write_kinetics(root / "kinetics_val" / f"{vid}.json", people, label=f"class {k % 2}", label_index=k % 2)
        table[vid] = {"has_skeleton": True, "label": f"class {k % 2}", "label_index": k % 2}
    (root / "kinetics_val_label.json").write_text(json.dumps(table))
    prepare_dataset("kinetics", PrepareRequest(root=root), store, collection=name)


def t2m_collection(store: MotionStore, root: Path, name: str = "hml") -> None:
    """A HumanML3D-like folder with whole and partial captions and 263-d frame data."""
    rng = np.random.default_rng(3)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True)
    for sid, frames in (("000001", 40), ("000002", 33), ("M000002", 33)):
        np.save(root / "new_joint_vecs" / f"{sid}.npy", rng.normal(size=(frames, 263)).astype(np.float32))
        np.save(root / "new_joints" / f"{sid}.npy", rng.normal(size=(frames, 22, 3)).astype(np.float32))
        (root / "texts" / f"{sid}.txt").write_text(f"a person moves {sid}.#a/DET#0.0#0.0\n"
                                                  "then turns around.#then/ADV#0.35#1.2\n")
    (root / "train.txt").write_text("000001\nM000002\n")
    (root / "test.txt").write_text("000002\n")
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))
    prepare_dataset("humanml3d", PrepareRequest(root=root), store, collection=name)


def assert_same_collection(a: Collection, b: Collection, *, frame_data: bool = True) -> None:
    """Everything a user relies on is equal: arrays bit for bit, metadata, splits, captions."""
    assert len(a) == len(b)
    assert list(a.sample_ids) == list(b.sample_ids)
    assert a.class_names == b.class_names and a.kind == b.kind and a.fps == b.fps
    assert a.skeleton == b.skeleton and a.persons == b.persons
    assert a.attrs == b.attrs
    assert a.meta_fields() == b.meta_fields()
    for field in a.meta_fields():
        np.testing.assert_array_equal(a.meta(field), b.meta(field), err_msg=field)
        assert a.meta(field).dtype.kind == b.meta(field).dtype.kind, field
    assert a.split_names() == b.split_names()
    for s in a.split_names():
        np.testing.assert_array_equal(a.split(s), b.split(s))
    names = a.frame_data_names() if frame_data else []
    if frame_data:
        assert names == b.frame_data_names()
    for i in range(len(a)):
        fa, fb = a.frames(i), b.frames(i)
        assert fa.dtype == fb.dtype == np.float32
        np.testing.assert_array_equal(fa, fb)
        assert a.captions(i) == b.captions(i)
        for n in names:
            np.testing.assert_array_equal(a.frame_data(n, i), b.frame_data(n, i))
