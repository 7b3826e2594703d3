"""NTU RGB+D adapters against files written in the real layout (tests/ntu_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_kinemic
from ntu_fixtures import (
    FIRST_BODY_ID,
    Body,
    broken_empty,
    broken_impostor,
    broken_nan,
    broken_truncated,
    ntu_name,
    smooth_motion,
    write_clip,
    write_skeleton,
)

from datasets_plugins.ntu_parse import SkeletonFileError, parse_skeleton, select_bodies
from datasets_plugins.ntu_release import NTU60, NTU60_ACTIONS, NTU120, NTU120_ACTIONS, missing_skeletons, parse_ntu_name
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest, load_adapter
from kinemic_cli.skeletons import get_joint_map
from kinemic_cli.store import MotionStore
from kinemic_cli.store.prepare import prepare_dataset


def _prepare(store: MotionStore, root: Path, dataset: str = "ntu60", name: str | None = None, **kw):
    opts = {k: kw.pop(k) for k in ("convert_to", "on_error") if k in kw}
    return prepare_dataset(dataset, PrepareRequest(root=root, **kw), store, collection=name or dataset, **opts)


# ------------------------------------------------------------------------------- parser


def test_parser_reads_exact_values_ids_and_empty_frames(tmp_path):
    rng = np.random.default_rng(1)
    big_id = 72057594037931999  # a float64 would read this as ...2000
    assert int(float(big_id)) != big_id
    a = Body(big_id, smooth_motion(rng, 10), start=0)
    b = Body(FIRST_BODY_ID + 7, smooth_motion(rng, 4), start=5)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    expected = write_skeleton(path, 12, [a, b])  # frames 10 and 11 have no body
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") and b"\n0\r\n" in raw  # CRLF, 0-body frames
    parsed = parse_skeleton(raw)
    assert parsed.body_ids == [big_id, FIRST_BODY_ID + 7] and parsed.num_frames == 12
    assert parsed.empty_frames == 2
    np.testing.assert_array_equal(parsed.tracks[0], expected[big_id])
    np.testing.assert_array_equal(parsed.tracks[1], expected[FIRST_BODY_ID + 7])
    assert parsed.present[1].tolist() == [False] * 5 + [True] * 4 + [False] * 3
    lf = parse_skeleton(raw.replace(b"\r\n", b"\n"))
    np.testing.assert_array_equal(lf.tracks, parsed.tracks)


def test_most_active_bodies_are_kept_and_tracked_by_id(tmp_path):
    rng = np.random.default_rng(2)
    still = Body(FIRST_BODY_ID + 1, smooth_motion(rng, 30, amplitude=0.01))  # a bystander, first in the file
    actor = Body(FIRST_BODY_ID + 2, smooth_motion(rng, 30, amplitude=0.4))
    middle = Body(FIRST_BODY_ID + 3, smooth_motion(rng, 30, amplitude=0.1))
    path = tmp_path / "x.skeleton"
    expected = write_skeleton(path, 30, [still, actor, middle])
    parsed = parse_skeleton(path.read_bytes())
    frames, ids = select_bodies(parsed, 2)
    assert ids == [FIRST_BODY_ID + 2, FIRST_BODY_ID + 3]
    np.testing.assert_array_equal(frames[:, 0], expected[FIRST_BODY_ID + 2])
    np.testing.assert_array_equal(frames[:, 1], expected[FIRST_BODY_ID + 3])
    one, ids1 = select_bodies(parsed, 1)
    assert one.shape == (30, 1, 25, 3) and ids1 == [FIRST_BODY_ID + 2]


def test_six_bodies_in_a_frame(tmp_path):
    rng = np.random.default_rng(3)
    bodies = [Body(FIRST_BODY_ID + k, smooth_motion(rng, 8, amplitude=0.05 * (k + 1))) for k in range(6)]
    path = tmp_path / "six.skeleton"
    write_skeleton(path, 8, bodies)
    parsed = parse_skeleton(path.read_bytes())
    assert len(parsed.body_ids) == 6
    assert select_bodies(parsed, 2)[1] == [FIRST_BODY_ID + 5, FIRST_BODY_ID + 4]


@pytest.mark.parametrize(("writer", "reason", "detail"), [
    (broken_truncated, "truncated", "ends inside frame"),
    (broken_impostor, "wrong joint count", "26 joints"),
    (broken_nan, "NaN", "frame 8"),
    (broken_empty, "empty", "0 bytes"),
])
def test_broken_files_give_their_reason(tmp_path, writer, reason, detail):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    writer(path)
    with pytest.raises(SkeletonFileError) as err:
        parse_skeleton(path.read_bytes())
    assert err.value.reason == reason and detail in err.value.detail


@pytest.mark.parametrize(("text", "reason"), [
    (b"2\r\n0\r\n0\r\n", "empty"),
    (b"hello world\r\n", "not a skeleton file"),
    (b"0\r\n", "empty"),
    (b"1\r\n0\r\n7 7 7\r\n", "not a skeleton file"),
])
def test_odd_texts(text, reason):
    with pytest.raises(SkeletonFileError) as err:
        parse_skeleton(text)
    assert err.value.reason == reason


def test_values_out_of_place_are_caught(tmp_path):
    path = tmp_path / "x.skeleton"
    write_clip(tmp_path, "x", frames=3)
    lines = path.read_bytes().split(b"\r\n")
    lines[5] = lines[5] + b" 0.5"  # one extra value on a joint line shifts everything after it
    lines[6] = b" ".join(lines[6].split()[:-1])
    with pytest.raises(SkeletonFileError, match="not a skeleton file"):
        parse_skeleton(b"\r\n".join(lines))


# ------------------------------------------------------------------------------- release facts


def test_names_splits_and_missing_lists():
    n = parse_ntu_name("S012C003P025R002A058")
    assert (n.setup, n.camera, n.subject, n.replication, n.action) == (12, 3, 25, 2, 58)
    assert parse_ntu_name("S012C003P025R002A58") is None
    assert NTU60.splits(n) == ("xsub/train", "xview/train")
    assert NTU60.splits(parse_ntu_name("S012C001P003R002A058")) == ("xsub/val", "xview/val")
    assert NTU120.splits(parse_ntu_name("S012C001P045R002A058")) == ("xsub/train", "xset/train")
    assert NTU120.splits(parse_ntu_name("S013C001P044R002A058")) == ("xsub/val", "xset/val")
    assert len(NTU60.xsub_train_subjects) == 20 and len(NTU120.xsub_train_subjects) == 53
    assert len(NTU60_ACTIONS) == 60 and len(NTU120_ACTIONS) == 120 and len(set(NTU120_ACTIONS)) == 120
    assert NTU120_ACTIONS[0] == "drink water" and NTU120_ACTIONS[59] == "walking apart from each other"
    assert NTU120_ACTIONS[119] == "finger-guessing game (playing rock-paper-scissors)"
    m60, m120 = missing_skeletons(NTU60), missing_skeletons(NTU120)
    assert len(m60) == 302 and len(m120) == 535 and m60 <= m120 and "S001C002P005R002A008" in m60


# ------------------------------------------------------------------------------- the adapter


def _release_folder(root: Path) -> dict[str, dict]:
    """A small release: train/val subjects, 3 cameras, a two-person action, traps and extras."""
    clips = {}
    specs = [(1, 1, 1, 1, 1), (1, 2, 1, 1, 1), (1, 3, 3, 1, 1), (2, 1, 4, 2, 2), (2, 2, 3, 2, 2),
             (3, 3, 8, 1, 50), (3, 1, 7, 1, 50), (4, 2, 38, 2, 60)]
    for k, spec in enumerate(specs):
        name = ntu_name(*spec)
        clips[name] = write_clip(root / ("part1" if k % 2 else "part2"), name, frames=20 + k, persons=2 if spec[4] >= 50 else 1,
                                 seed=k, crlf=k != 3)
    write_clip(root, "S001C002P005R002A008", frames=5)  # on the official missing list
    write_clip(root, "S018C001P001R001A001", frames=5)  # NTU120 only
    write_clip(root, "S001C001P001R001A061", frames=5)  # NTU120 only
    broken_truncated(root / "S005C001P001R001A003.skeleton")
    broken_impostor(root / "S005C001P001R001A004.skeleton")
    broken_nan(root / "S005C001P001R001A005.skeleton")
    broken_empty(root / "S005C001P001R001A006.skeleton")
    (root / "notes.skeleton").write_text("not an NTU file")
    return clips


def test_prepare_ntu60_reads_splits_labels_and_reports(tmp_path, store):
    root = tmp_path / "nturgbd_skeletons"
    clips = _release_folder(root)
    report = _prepare(store, root)
    assert report.clips == 8
    assert report.skipped_by_reason == {"truncated": 1, "wrong joint count": 1, "NaN": 1, "empty": 1,
                                        "not an NTU name": 1}
    assert report.excluded == {"official missing-skeleton list": 1,
                               "not in ntu60 (setup > 17 or action > 60)": 2}
    assert report.per_split == {"xsub/train": 5, "xsub/val": 3, "xview/train": 5, "xview/val": 3}
    assert report.per_class == {"drink water": 3, "eat meal/snack": 2, "punching/slapping other person": 2,
                                "walking apart from each other": 1}
    with store.collection("ntu60") as coll:
        assert list(coll.sample_ids) == sorted(clips)  # sorted by name, whatever the sub-folder
        assert coll.class_names == NTU60_ACTIONS and coll.skeleton.name == "ntu25" and coll.persons == 2
        assert coll.attrs["protocols"] == ["xsub", "xview"] and coll.fps == 30
        i = list(coll.sample_ids).index("S003C003P008R001A050")
        assert coll.labels[i] == 49 and coll.meta("subject")[i] == 8 and coll.meta("camera")[i] == 3
        assert coll.meta("setup")[i] == 3 and coll.meta("action")[i] == 50 and coll.meta("bodies")[i] == 2
        assert coll.captions(i)[0].text == "punching/slapping other person"
        frames = coll.frames(i)
        track = clips["S003C003P008R001A050"]
        kept = [int(b) for b in coll.meta("body_ids")[i].split(",")]
        np.testing.assert_array_equal(frames[:, 0], track[kept[0]])
        np.testing.assert_array_equal(frames[:, 1], track[kept[1]])
        train = set(coll.sample_ids[coll.split("xsub/train")])
        assert train == {s for s in clips if parse_ntu_name(s).subject in NTU60.xsub_train_subjects}
        view_val = set(coll.sample_ids[coll.split("xview/val")])
        assert view_val == {s for s in clips if parse_ntu_name(s).camera == 1}
        assert coll.provenance["summary"]["skipped_by_reason"]["truncated"] == 1
        assert coll.provenance["summary"]["excluded"]["official missing-skeleton list"] == 1


def test_ntu120_xset_classes_persons_and_workers(tmp_path, store):
    root = tmp_path / "ntu"
    _release_folder(root)
    report = _prepare(store, root, "ntu120", classes=["A061", "drink water", "49"], persons=1, workers=2)
    assert report.clips == 7 and report.excluded["not in --classes"] == 7  # broken files of other actions too
    with store.collection("ntu120") as coll:
        assert coll.class_names == ["put on headphone", "drink water", "punching/slapping other person"]
        assert coll.persons == 1 and coll.attrs["protocols"] == ["xsub", "xset"]
        by_id = dict(zip(coll.sample_ids, coll.labels))
        assert by_id["S001C001P001R001A061"] == 0 and by_id["S001C002P001R001A001"] == 1
        assert by_id["S003C001P007R001A050"] == 2
        xset_train = set(coll.sample_ids[coll.split("xset/train")])
        assert xset_train == {s for s in coll.sample_ids if parse_ntu_name(s).setup % 2 == 0}
        single = [_prepare_frames(coll, i) for i in range(len(coll))]
    # the same selection read by one process gives the same clips in the same order
    _prepare(store, root, "ntu120", name="serial", classes=["A061", "drink water", "49"], persons=1, workers=1)
    with store.collection("serial") as coll:
        assert [_prepare_frames(coll, i) for i in range(len(coll))] == single


def _prepare_frames(coll, i):
    return (coll.sample_ids[i], coll.frames(i).tobytes())


def test_to_skeleton_smpl22_uses_the_joint_map(tmp_path, store):
    root = tmp_path / "ntu"
    clips = {n: write_clip(root, n, frames=12, seed=5) for n in [ntu_name(1, 1, 1, 1, 23)]}
    _prepare(store, root, convert_to="smpl22", persons=1)
    with store.collection("ntu60") as coll:
        assert coll.skeleton.name == "smpl22" and coll.attrs["converted_from"] == "ntu25"
        track = next(iter(next(iter(clips.values())).values()))
        expected = get_joint_map("ntu25", "smpl22").apply(track)
        np.testing.assert_allclose(coll.frames(0)[:, 0], expected, rtol=1e-6, atol=1e-6)


def test_bad_requests_fail_before_reading(tmp_path, store):
    root = tmp_path / "ntu"
    write_clip(root, ntu_name(1, 1, 1, 1, 1))
    with pytest.raises(KinemicError, match="--persons"):
        _prepare(store, root, persons=3)
    with pytest.raises(KinemicError, match="no class 'dancing'"):
        _prepare(store, root, classes=["dancing"])
    with pytest.raises(KinemicError, match="do not apply"):
        _prepare(store, root, skeleton="smpl22")
    (tmp_path / "void").mkdir()
    with pytest.raises(KinemicError, match="no .skeleton files"):
        _prepare(store, tmp_path / "void")
    with pytest.raises(KinemicError, match="nothing could be read"):
        broken_empty(tmp_path / "only" / "S001C001P001R001A002.skeleton")
        _prepare(store, tmp_path / "only")
    assert load_adapter("ntu120").description


def test_cli_prepare_json_counts_and_on_error_fail(tmp_path):
    root = tmp_path / "nturgbd_skeletons"
    _release_folder(root)
    store = str(tmp_path / "k.h5")
    out = json.loads(run_kinemic("prepare", "--dataset", "ntu60", "--root", str(root), "--store", store,
                                 "--workers", "2", "--json").stdout)
    assert out["clips"] == 8 and out["skipped"] == 5 and out["skipped_by_reason"]["truncated"] == 1
    assert out["excluded"]["official missing-skeleton list"] == 1
    assert out["per_split"]["xview/val"] == 3
    assert {f["reason"] for f in out["skipped_files"]} >= {"wrong joint count", "NaN", "empty"}
    proc = run_kinemic("prepare", "--dataset", "ntu60", "--root", str(root), "--store", store, "--collection", "strict",
                       "--on-error", "fail", "--json", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "notes.skeleton: not an NTU name" in lines[0]
    assert "strict" not in json.loads(run_kinemic("store", "ls", "--store", store, "--json").stdout)["collections"]
