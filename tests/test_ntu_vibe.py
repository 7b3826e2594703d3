"""NTU-VIBE as the KineMIC authors release it, and labelled HumanML3D-layout folders."""

from __future__ import annotations

import numpy as np
import pytest

from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store.prepare import prepare_dataset

NAMES = ["S018C003P043R001A104", "S019C001P050R002A099", "S019C002P042R002A099", "S025C002P068R002A102",
         "S027C001P085R001A104", "S028C001P008R002A102", "S031C003P043R001A099"]


def _vibe(root, *, flat: bool = True, split_files: bool = False):
    rng = np.random.default_rng(0)
    for sub in ("new_joints", "new_joint_vecs", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(NAMES):
        frames = 30 + k
        joints = rng.normal(size=(frames, 22, 3)).astype(np.float32)
        np.save(root / "new_joints" / f"{name}.npy", joints.reshape(frames, 66) if flat else joints)
        np.save(root / "new_joint_vecs" / f"{name}.npy", rng.normal(size=(frames, 263)).astype(np.float32))
        (root / "texts" / f"{name}.txt").write_text("a person does a side kick.#a/DET#0.0#0.0\n")
    if split_files:
        for protocol, train in (("xsub", NAMES[:4]), ("xset", NAMES[::2])):
            folder = root / "splits" / "default" / protocol
            folder.mkdir(parents=True)
            (folder / "train.txt").write_text("\n".join(train) + "\n")
            (folder / "val.txt").write_text("\n".join(n for n in NAMES if n not in train) + "\n")
        few = root / "splits" / "fewshot" / "S0000" / "xsub"
        few.mkdir(parents=True)
        (few / "train.txt").write_text("\n".join(NAMES[:3]) + "\n")
    (root / "outliers.txt").write_text(NAMES[-1] + "\n")
    return root


def test_ntu_vibe_labels_names_and_splits_from_file_names(tmp_path, store):
    report = prepare_dataset("ntu-vibe", PrepareRequest(root=_vibe(tmp_path / "NTU-VIBE")), store)
    assert report.clips == 6 and report.excluded == {"release outliers list": 1}
    with store.collection("ntu-vibe") as coll:
        assert coll.class_names == ["running on the spot", "side kick", "stretch oneself"]
        assert coll.attrs["actions"] == [99, 102, 104] and coll.skeleton.name == "smpl22" and coll.fps == 20
        i = list(coll.sample_ids).index("S025C002P068R002A102")
        clip = coll.clip(i)
        assert (clip.label, clip.subject, clip.camera, clip.setup, clip.replication) == (1, 68, 2, 25, 2)
        assert i in coll.split("xset/val") and i not in coll.split("xset/train")  # setup 25 is odd
        assert i in coll.split("xsub/val")  # performer 68 is not an xsub training subject
        assert coll.frames(i).shape == (33, 1, 22, 3) and coll.frame_data("hml263", i).shape == (33, 263)
        assert coll.attrs["class_captions"]["side kick"] == ["a person kicks to the side"]


def test_ntu_vibe_uses_the_release_split_files_and_both_joint_layouts(tmp_path, store):
    root = _vibe(tmp_path / "NTU-VIBE", flat=False, split_files=True)
    report = prepare_dataset("ntu-vibe", PrepareRequest(root=root, classes=["A099", "side kick"]), store)
    assert report.clips == 4 and report.excluded["not in --classes"] == 2
    with store.collection("ntu-vibe") as coll:
        splits = {s: sorted(str(coll.sample_ids[i]) for i in coll.split(s)) for s in coll.split_names()}
    assert splits["fewshot/release-S0000-xsub/train"] == sorted(n for n in NAMES[:3] if not n.endswith("A104"))
    assert splits["xsub/train"] == sorted(n for n in NAMES[:4] if not n.endswith("A104"))


def test_any_humanml3d_folder_can_be_labelled(tmp_path, store):
    root = _vibe(tmp_path / "hml")
    (root / "train.txt").write_text("\n".join(NAMES) + "\n")
    report = prepare_dataset("humanml3d", PrepareRequest(root=root, options={"label_pattern": r"A(?P<label>\d{3})"}),
                             store, collection="by-pattern")
    with store.collection("by-pattern") as coll:
        assert coll.kind == "har" and coll.class_names == ["099", "102", "104"] and report.clips == 7
    (tmp_path / "labels.csv").write_text("id,label\n" + "\n".join(f"{n},{'kick' if 'A102' in n else 'other'}"
                                                                  for n in NAMES[:5]) + "\n")
    report = prepare_dataset("humanml3d", PrepareRequest(root=root, options={"labels": str(tmp_path / "labels.csv")}),
                             store, collection="by-file")
    assert report.clips == 5 and report.excluded == {"no label": 2}
    with pytest.raises(KinemicError, match="group named label"):
        prepare_dataset("humanml3d", PrepareRequest(root=root, options={"label_pattern": r"A\d+"}), store,
                        collection="x")
