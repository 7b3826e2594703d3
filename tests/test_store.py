"""The motion store: round trips, splits, resume of parts, merge, and refusal of bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import make_clips, write_collection

from kinemic_cli.errors import KinemicError
from kinemic_cli.skeletons import SMPL22
from kinemic_cli.store import MotionStore
from kinemic_cli.store.merge import merge_collections


def test_round_trip_every_field(store: MotionStore):
    clips = make_clips(25)
    coll = write_collection(store, "c1", clips, part_frames=100)  # several parts
    assert len(coll) == 25 and store.list() == ["c1"]
    for i, clip in enumerate(clips):
        back = coll.clip(i)
        np.testing.assert_array_equal(back.frames, clip.frames)
        assert back.sample_id == clip.sample_id and back.label == clip.label
        assert back.subject == clip.subject and back.camera == clip.camera and back.setup == -1
        assert back.extra == clip.extra
        np.testing.assert_array_equal(back.frame_data["feat"], clip.frame_data["feat"])
        assert [(c.text, c.start, c.end) for c in back.captions] == [
            (clip.captions[0].text, 0, clip.length), (clip.captions[1].text, 1, min(4, clip.length))
        ]
    val = [i for i in range(25) if i % 4 == 0]
    np.testing.assert_array_equal(coll.split("xsub/val"), val)
    assert coll.skeleton == SMPL22 and coll.class_names == ["a", "b", "c"]
    assert coll.provenance == {"command": "test"}
    np.testing.assert_array_equal(coll.lengths, [c.length for c in clips])


def test_frames_dataset_is_chunked_and_compressed(store: MotionStore):
    coll = write_collection(store, "c", make_clips(5))
    with h5py.File(coll.path, "r") as f:
        assert f["frames"].chunks is not None and f["frames"].compression is not None


def test_existing_collection_is_not_overwritten(store: MotionStore):
    write_collection(store, "c", make_clips(3))
    with pytest.raises(KinemicError, match="already exists"):
        write_collection(store, "c", make_clips(2))
    assert len(store.collection("c")) == 3
    write_collection(store, "c", make_clips(2), overwrite=True)
    assert len(store.collection("c")) == 2


def test_uncommitted_writer_is_invisible_and_resumable(store: MotionStore):
    clips = make_clips(12)
    w = store.writer("g", skeleton=SMPL22, fps=20, class_names=["a", "b", "c"], persons=1, part_frames=50)
    for c in clips[:8]:
        w.add(c)
    w.flush()
    w.release()  # as if the process had died
    assert store.list() == [] and store.incomplete() == ["g"]
    # a new writer with resume=True sees the finished parts
    w2 = store.writer("g", skeleton=SMPL22, fps=20, class_names=["a", "b", "c"], persons=1, resume=True)
    assert w2.done_ids == {c.sample_id for c in clips[:8]}
    for c in clips:
        if c.sample_id not in w2.done_ids:
            w2.add(c)
    coll = w2.commit({})
    assert list(coll.sample_ids) == [c.sample_id for c in clips]
    assert store.incomplete() == []


def test_resume_refuses_changed_settings(store: MotionStore):
    w = store.writer("g", skeleton=SMPL22, fps=20, class_names=["a"], persons=1)
    w.add(make_clips(1)[0])
    w.flush()
    w.release()
    with pytest.raises(KinemicError, match="different settings"):
        store.writer("g", skeleton=SMPL22, fps=30, class_names=["a"], persons=1, resume=True)


def test_added_split_lives_beside_collection(store: MotionStore):
    write_collection(store, "c", make_clips(10))
    store.add_split("c", "fewshot/k1-s0/train", np.array([1, 2]))
    coll = store.collection("c")
    np.testing.assert_array_equal(coll.split("fewshot/k1-s0/train"), [1, 2])
    with pytest.raises(KinemicError, match="different split"):
        store.add_split("c", "fewshot/k1-s0/train", np.array([3]))
    with pytest.raises(KinemicError, match="out of range"):
        store.add_split("c", "other", np.array([99]))
    store.remove("c")
    write_collection(store, "c", make_clips(4))
    assert "fewshot/k1-s0/train" not in store.collection("c").split_names()


def test_merge_in_sample_id_order_equals_single_write(store: MotionStore):
    clips = make_clips(9)
    write_collection(store, "all", clips)
    write_collection(store, "s1", clips[1::2])
    write_collection(store, "s0", clips[0::2])
    merged = merge_collections(store, ["s1", "s0"], "merged")
    ref = store.collection("all")
    assert list(merged.sample_ids) == list(ref.sample_ids)
    for i in range(len(ref)):
        np.testing.assert_array_equal(merged.frames(i), ref.frames(i))
    np.testing.assert_array_equal(merged.split("xsub/val"), ref.split("xsub/val"))
    with pytest.raises(KinemicError, match="more than one source"):
        merge_collections(store, ["s0", "all"], "dup")


def test_bad_store_files_are_refused_and_left_alone(tmp_path):
    not_h5 = tmp_path / "notes.h5"
    not_h5.write_bytes(b"just some text, not HDF5")
    with pytest.raises(KinemicError, match="not a readable HDF5"):
        MotionStore(not_h5).list()
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    before = foreign.read_bytes()
    with pytest.raises(KinemicError, match="not a kinemic store"):
        write_collection(MotionStore(foreign), "c", make_clips(2))
    assert foreign.read_bytes() == before
    with pytest.raises(KinemicError, match="no motion store"):
        MotionStore(tmp_path / "absent.h5").collection("x")


def test_clip_shape_checked_against_skeleton(store: MotionStore):
    w = store.writer("c", skeleton=SMPL22, fps=20, class_names=["a"], persons=1)
    bad = make_clips(1)[0]
    bad.frames = np.zeros((4, 1, 25, 3), np.float32)
    with pytest.raises(KinemicError, match="do not match the skeleton"):
        w.add(bad)
    w.abort()
    assert store.incomplete() == []


def test_streaming_read_touches_one_clip(store: MotionStore):
    coll = write_collection(store, "c", make_clips(30))
    seen = [i for i, frames in coll.iter_frames(range(0, 30, 7))]
    assert seen == [0, 7, 14, 21, 28]
