"""No bad input costs good data: every class of broken input beside good ones.

Each case writes a small release with good files and one bad file of one kind, runs the
real `prepare`, and checks that the good clips are stored, the bad one is reported with a
reason, no traceback escapes and nothing non-finite reaches the store.  The fixtures are
made here (no copies of anyone's files).
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from conftest import make_clips, run_kinemic, write_collection
from ntu_fixtures import kinetics_person, ntu_name, write_clip, write_kinetics

from kinemic_cli.clip import Caption, Clip
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store.prepare import prepare_dataset
from kinemic_cli.store.writer import BadClip


def _all_finite(store, name):
    with store.collection(name) as coll:
        return all(np.isfinite(coll.frames(i)).all() for i in range(len(coll)))


# ------------------------------------------------------------------ Kinetics


def _kinetics_release(root, bad_vid: str, bad_bytes: bytes | None = None, *, table_entry: dict | None = None):
    rng = np.random.default_rng(0)
    table = {}
    for k, vid in enumerate(("good1", "good2")):
        people = [[kinetics_person(rng, score=0.8)] for _ in range(12)]
        write_kinetics(root / "kinetics_train" / f"{vid}.json", people, label="abseiling", label_index=0)
        table[vid] = {"has_skeleton": True, "label": "abseiling", "label_index": 0}
    if bad_bytes is not None:
        (root / "kinetics_train" / f"{bad_vid}.json").write_bytes(bad_bytes)
    table[bad_vid] = table_entry or {"has_skeleton": True, "label": "abseiling", "label_index": 0}
    (root / "kinetics_train_label.json").write_text(json.dumps(table))


def _frames_json(frame_index, pose_value="0.5") -> bytes:
    pose = ",".join([pose_value] + ["0.5"] * 35)
    return (f'{{"data": [{{"frame_index": {frame_index}, "skeleton": [{{"pose": [{pose}], '
            f'"score": [{",".join(["0.9"] * 18)}]}}]}}], "label": "abseiling", "label_index": 0}}').encode()


@pytest.mark.parametrize("name, content, reason", [
    ("index 1e11", _frames_json(10 ** 11), "bad frame index"),
    ("index 2^63", _frames_json(2 ** 63), "bad frame index"),
    ("401 digits", _frames_json(1, "9" * 401), "NaN"),
    ("beyond float32", _frames_json(1, "1e39"), "NaN"),
    ("nested brackets", b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not a skeleton file"),
])
def test_a_bad_kinetics_file_costs_only_itself(tmp_path, store, name, content, reason):
    root = tmp_path / "kinetics-skeleton"
    _kinetics_release(root, "bad", content)
    report = prepare_dataset("kinetics", PrepareRequest(root=root), store)
    assert report.clips == 2 and report.skipped_by_reason == {reason: 1}, report.skipped
    assert _all_finite(store, "kinetics")


def test_kinetics_side_file_ids_outside_the_root_and_huge_class_indices(tmp_path, store):
    root = tmp_path / "kinetics-skeleton"
    _kinetics_release(root, "../../outside")
    (tmp_path / "outside.json").write_bytes(_frames_json(1))  # would be read if the id were trusted
    report = prepare_dataset("kinetics", PrepareRequest(root=root), store)
    assert report.clips == 2 and report.skipped_by_reason == {"bad video id": 1}
    _kinetics_release(root, "huge", table_entry={"has_skeleton": True, "label": "x", "label_index": 10 ** 7})
    with pytest.raises(KinemicError, match="label_index 10000000"):
        prepare_dataset("kinetics", PrepareRequest(root=root), store, collection="k2")


# ------------------------------------------------------------------ NTU


def test_an_ntu_file_beyond_float32_is_skipped(tmp_path, store):
    root = tmp_path / "nturgbd"
    root.mkdir()
    write_clip(root, ntu_name(1, 1, 1, 1, 1), seed=1)
    write_clip(root, ntu_name(1, 1, 2, 1, 1), seed=2)
    bad = root / f"{ntu_name(1, 2, 1, 1, 1)}.skeleton"
    write_clip(root, bad.stem, seed=3)
    lines = bad.read_bytes().split(b"\r\n")
    lines[4] = b"1e39" + lines[4][lines[4].index(b" "):]  # the first joint's x of frame 1
    bad.write_bytes(b"\r\n".join(lines))
    report = prepare_dataset("ntu60", PrepareRequest(root=root), store)
    assert report.clips == 2 and report.skipped_by_reason == {"NaN": 1} and _all_finite(store, "ntu60")


# ------------------------------------------------------------------ captions and HumanML3D


def _hml_root(tmp_path, lines: list[str], split_list: bytes = b"000001\n000002\n"):
    root = tmp_path / "HumanML3D"
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k, sid in enumerate(("000001", "000002")):
        np.save(root / "new_joints" / f"{sid}.npy", rng.normal(size=(30, 22, 3)).astype(np.float32))
        np.save(root / "new_joint_vecs" / f"{sid}.npy", rng.normal(size=(30, 263)).astype(np.float32))
        (root / "texts" / f"{sid}.txt").write_text(lines[k], encoding="utf-8")
    (root / "train.txt").write_bytes(split_list)
    return root


def test_absurd_caption_tags_and_nul_bytes_drop_the_line_not_the_corpus(tmp_path, store):
    root = _hml_root(tmp_path, ["a person walks#a/DET#0.0#1e999\na person waves#a/DET#0.0#0.0\n",
                                "a per\x00son runs#a/DET#0.0#0.0\na person runs#a/DET#0.0#0.0\n"])
    report = prepare_dataset("humanml3d", PrepareRequest(root=root), store)
    assert report.clips == 2 and not report.skipped
    assert any("out of range" in w for w in report.warnings) and any("NUL" in w for w in report.warnings)
    with store.collection("humanml3d") as coll:
        assert [c.text for c in coll.captions(0)] == ["a person waves"]


def test_a_split_list_with_bad_bytes_and_escaping_ids(tmp_path, store):
    root = _hml_root(tmp_path, ["a person walks#x#0.0#0.0\n"] * 2,
                     split_list=b"000001\n\xff\xfe\n../../etc/passwd\n000002\n")
    report = prepare_dataset("humanml3d", PrepareRequest(root=root), store)
    assert report.clips == 2 and report.per_split == {"train": 2}
    assert sum("not UTF-8" in w for w in report.warnings) == 1 and sum("not a motion id" in w for w in report.warnings) == 1


# ------------------------------------------------------------------ custom folders


def _custom_root(tmp_path, rows: list[str], *, header: str = "file,label,subject", bom: bool = False, settings=None):
    root = tmp_path / "mine"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        np.save(root / f"{name}.npy", rng.normal(size=(12, 22, 3)).astype(np.float32))
    text = "\n".join([header, *rows]) + "\n"
    (root / "labels.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    if settings is not None:
        (root / "dataset.json").write_text(json.dumps(settings))
    return root


def _custom(root, store, **kw):
    return prepare_dataset("custom", PrepareRequest(root=root, skeleton="smpl22"), store, **kw)


def test_custom_folder_bad_rows_are_skipped_one_by_one(tmp_path, store):
    root = _custom_root(tmp_path, ["a.npy,wave,1", "b.npy,wave,99999999999999999999", "c.npy,kick,2",
                                   "a.npy,kick,3", "../outside.npy,kick,1", "c\x00.npy,kick,1"])
    np.save(tmp_path / "outside.npy", np.zeros((12, 22, 3), np.float32))
    report = _custom(root, store)
    assert report.clips == 2, report.skipped  # a.npy and c.npy
    assert report.skipped_by_reason == {"bad clip": 1, "listed twice": 1, "bad file name": 2}, report.skipped


def test_a_spreadsheet_bom_is_not_a_missing_column(tmp_path, store):
    report = _custom(_custom_root(tmp_path, ["a.npy,wave,1", "b.npy,kick,2"], bom=True), store)
    assert report.clips == 2


@pytest.mark.parametrize("header", ["file,label,sample_id", "file,label,", "file,label,a/b"])
def test_extra_columns_that_cannot_be_field_names_are_one_clear_error(tmp_path, store, header):
    root = _custom_root(tmp_path, ["a.npy,wave,1"], header=header)
    with pytest.raises(KinemicError, match="cannot be a per-clip field"):
        _custom(root, store)
    assert store.list() == []


def test_dataset_json_attrs_as_a_list_is_one_clear_error(tmp_path, store):
    root = _custom_root(tmp_path, ["a.npy,wave,1"], settings={"attrs": [1, 2]})
    with pytest.raises(KinemicError, match="attrs must be a JSON object"):
        _custom(root, store)


# ------------------------------------------------------------------ pyskl pickles


def _pickle(tmp_path, annotations, split, **block):
    path = tmp_path / "ann.pkl"
    path.write_bytes(pickle.dumps({"split": split, "annotations": annotations, **block}, protocol=4))
    return path


def _annotation(name, label=0, persons=1, frames=10, **extra):
    rng = np.random.default_rng(len(name))
    return {"frame_dir": name, "total_frames": frames, "label": label,
            "keypoint": rng.normal(size=(persons, frames, 25, 3)).astype(np.float32), **extra}


def test_pyskl_bad_fields_cost_their_annotation_only(tmp_path, store):
    anns = [_annotation("good1"), _annotation("good2", label=1), _annotation("text-frames", total_frames="ten"),
            _annotation("text-label", label="one"), _annotation("none-label", label=None),
            _annotation("../../outside")]
    path = _pickle(tmp_path, anns, {"xsub_train": ["good1", "good2"], "xsub_val": 7})
    report = prepare_dataset("pyskl", PrepareRequest(root=path, options={"class_names": "ntu60"}), store)
    assert report.clips == 2 and report.skipped_by_reason == {"bad metadata": 3, "bad clip": 1}, report.skipped
    assert any("not a list of frame_dir names" in w for w in report.warnings)


def test_pyskl_thousands_of_persons_are_capped_not_padded(tmp_path, store):
    anns = [_annotation("good1"), _annotation("crowd", persons=4000, frames=3)]
    path = _pickle(tmp_path, anns, {"xsub_train": ["good1", "crowd"]})
    report = prepare_dataset("pyskl", PrepareRequest(root=path, options={"class_names": "ntu60"}), store)
    with store.collection("pyskl") as coll:
        assert coll.persons == 4 and report.clips == 2
    assert any("keeping the first 4" in w for w in report.warnings)


def test_a_tiny_pickle_cannot_allocate_a_gigabyte(tmp_path, store):
    bomb = tmp_path / "bomb.pkl"
    bomb.write_bytes(b"\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\tbytearray\x93"
                     b"J\x00\xca\x9a;\x85R.")  # bytearray(10**9)
    proc = run_kinemic("prepare", "--dataset", "pyskl", "--root", str(bomb), "--store", str(store.path), check=False)
    assert proc.returncode == 1 and "asks for 1,000,000,000 bytes" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ the store's door


@pytest.mark.parametrize("change, problem", [
    (lambda c: setattr(c, "sample_id", "../../outside"), "bad sample id"),
    (lambda c: setattr(c, "sample_id", "a\x00b"), "bad sample id"),
    (lambda c: setattr(c, "subject", 2 ** 40), "subject"),
    (lambda c: setattr(c, "captions", [Caption("a\x00b")]), "NUL"),
    (lambda c: setattr(c, "splits", ("bad split!",)), "invalid split name"),
    (lambda c: c.extra.update({"a/b": 1}), "per-clip field name"),
    (lambda c: c.frames.__setitem__((0, 0, 0, 0), np.float32("inf")), "non-finite"),
])
def test_the_writer_refuses_one_bad_clip_and_keeps_the_rest(store, change, problem):
    clips = make_clips(3)
    change(clips[1])
    writer = store.writer("c", skeleton=_skeleton(), fps=20, class_names=["a", "b", "c"], persons=1)
    kept = 0
    for clip in clips:
        try:
            writer.add(clip)
            kept += 1
        except BadClip as bad:
            assert problem in bad.problem
    coll = writer.commit({"command": "test"})
    assert kept == 2 and len(coll) == 2
    coll.close()


def test_a_duplicate_sample_id_is_refused(store):
    clips = make_clips(2)
    clips[1].sample_id = clips[0].sample_id
    with pytest.raises(BadClip, match="already in the collection"):
        write_collection(store, "dup", clips)


def _skeleton():
    from kinemic_cli.skeletons import SMPL22

    return SMPL22


def test_clip_type_round_trip_unchanged():
    clip = Clip(frames=np.zeros((3, 22, 3)), sample_id="x")
    assert clip.frames.shape == (3, 1, 22, 3) and clip.frames.dtype == np.float32


# ------------------------------------------------------------------ crash safety


def test_a_torn_checkpoint_pair_never_mixes_weights_and_step(tmp_path):
    import shutil

    import torch

    from kinemic_cli.runtime.checkpoints import load_state, save_state

    base = tmp_path / "checkpoint"
    save_state(base, {"w": torch.zeros(3)}, meta={"step": 1})
    old_json = base.with_name("checkpoint.json").read_text()
    save_state(base, {"w": torch.ones(3)}, meta={"step": 2})
    base.with_name("checkpoint.json").write_text(old_json)  # killed between the two renames
    state, meta = load_state(base)
    assert meta["step"] == 2 and torch.equal(state["w"], torch.ones(3))  # the weights' own step
    other = tmp_path / "other"
    save_state(other, {"w": torch.zeros(1)})
    legacy = json.loads(old_json)
    legacy["tensors"] = "../other.safetensors"
    plain = tmp_path / "plain"
    shutil.copy(other.with_name("other.safetensors"), plain.with_name("plain.safetensors"))
    from safetensors.torch import load_file, save_file

    save_file(load_file(plain.with_name("plain.safetensors")), plain.with_name("plain.safetensors"))  # no header
    plain.with_name("plain.json").write_text(json.dumps(legacy))
    with pytest.raises(KinemicError, match="refusing to read another file"):
        load_state(plain)


def test_stray_temporary_files_of_dead_writers_are_listed_and_removed(store):
    write_collection(store, "c", make_clips(2))
    stray = store.data_dir / ".c2.h5.tmp-999999-0123abcd"  # a pid that is not running
    stray.write_bytes(b"half a collection")
    mine = store.data_dir / f".c3.h5.tmp-{__import__('os').getpid()}-0123abcd"  # a live writer's: kept
    mine.write_bytes(b"x")
    assert store.stray_temporaries() == [stray]
    listed = json.loads(run_kinemic("store", "ls", "--store", str(store.path), "--json").stdout)
    assert listed["stray_temporaries"] == [str(stray)]
    write_collection(store, "d", make_clips(2))  # any change of the store cleans up
    assert not stray.exists() and mine.exists()


def test_a_run_killed_before_its_first_checkpoint_can_start_again(tmp_path):
    from kinemic_cli.runtime.run_folder import open_run_folder

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "metrics.csv").write_text("step,loss\n1,0.5\n")
    assert open_run_folder(out, resume=False, config={}, free_keys=(), is_main=True) is None
    (out / "notes.txt").write_text("mine")  # someone else's file: refused as before
    with pytest.raises(KinemicError, match="is not empty"):
        open_run_folder(out, resume=False, config={}, free_keys=(), is_main=True)
