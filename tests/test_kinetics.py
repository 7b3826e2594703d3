"""Kinetics-skeleton adapter against JSON files with the release's quirks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ntu_fixtures import kinetics_array, kinetics_person, write_kinetics

from datasets_plugins.kinetics_parse import KineticsFileError, parse_kinetics
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store.prepare import prepare_dataset


def _people(rng, frames: int, counts) -> list[list[dict]]:
    return [[kinetics_person(rng, score=rng.uniform(0.05, 0.95)) for _ in range(counts(t))] for t in range(frames)]


def test_top_persons_per_frame_by_total_score(tmp_path):
    rng = np.random.default_rng(0)
    people = _people(rng, 12, lambda t: 11 if t == 3 else (0 if t == 5 else 1 + t % 3))
    path = tmp_path / "v.json"
    write_kinetics(path, people, label="abseiling", label_index=0)
    parsed = parse_kinetics(path.read_bytes(), persons=2)
    np.testing.assert_array_equal(parsed.frames, kinetics_array(people, 2))
    assert parsed.frame_base == 1 and parsed.most_people == 11 and parsed.label_index == 0
    assert not parsed.frames[5].any()  # the frame with nobody stays zero
    three = parse_kinetics(path.read_bytes(), persons=3)
    np.testing.assert_array_equal(three.frames, kinetics_array(people, 3))


def test_zero_based_index_and_long_clips_are_kept_whole(tmp_path):
    rng = np.random.default_rng(1)
    people = _people(rng, 340, lambda t: 1)
    path = tmp_path / "long.json"
    write_kinetics(path, people, label="x", label_index=3, first_index=0)
    parsed = parse_kinetics(path.read_bytes(), persons=2)
    assert parsed.frame_base == 0 and parsed.frames.shape == (340, 2, 18, 3)
    np.testing.assert_array_equal(parsed.frames, kinetics_array(people, 2))
    with pytest.raises(KineticsFileError, match="below the base"):
        parse_kinetics(path.read_bytes(), persons=2, frame_base=1)


@pytest.mark.parametrize(("content", "reason"), [
    ({"data": [], "label": "x", "label_index": 0}, "empty"),
    ({"data": [{"frame_index": 1, "skeleton": []}], "label": "x", "label_index": 0}, "empty"),
    ({"data": [{"frame_index": 1, "skeleton": [{"pose": [0.1] * 36, "score": [0.0] * 18}]}]}, "empty"),
    ({"data": [{"frame_index": 1, "skeleton": [{"pose": [0.1] * 30, "score": [0.5] * 15}]}]}, "wrong joint count"),
    ({"frames": []}, "not a skeleton file"),
    ({"data": [{"frame_index": "one", "skeleton": []}]}, "not a skeleton file"),
])
def test_bad_files(content, reason):
    with pytest.raises(KineticsFileError) as err:
        parse_kinetics(json.dumps(content).encode(), persons=2)
    assert err.value.reason == reason
    with pytest.raises(KineticsFileError, match="not JSON"):
        parse_kinetics(b'{"data": [', persons=2)


def _release(root: Path) -> dict:
    rng = np.random.default_rng(2)
    made = {}
    labels = {}
    for split, videos in (("train", ["a1", "a2", "b1", "c1"]), ("val", ["a3", "b2"])):
        table = {}
        for vid in videos:
            cls = {"a": (0, "abseiling"), "b": (2, "archery"), "c": (1, "air drumming")}[vid[0]]
            people = _people(rng, 20 + len(made), lambda t: 1 + (t % 4))
            write_kinetics(root / f"kinetics_{split}" / f"{vid}.json", people, label=cls[1], label_index=cls[0],
                           first_index=0 if vid == "a2" else 1)
            made[vid] = people
            table[vid] = {"has_skeleton": True, "label": cls[1], "label_index": cls[0]}
        labels[split] = table
    # the quirks: a video without skeleton, an empty file, a label disagreeing with the side file
    labels["train"]["d1"] = {"has_skeleton": False, "label": "abseiling", "label_index": 0}
    write_kinetics(root / "kinetics_train" / "e1.json", [], label="abseiling", label_index=0)
    labels["train"]["e1"] = {"has_skeleton": True, "label": "abseiling", "label_index": 0}
    write_kinetics(root / "kinetics_val" / "b2.json", made["b2"], label="abseiling", label_index=0)
    labels["val"]["gone"] = {"has_skeleton": True, "label": "archery", "label_index": 2}
    write_kinetics(root / "kinetics_val" / "stray.json", made["b2"], label="archery", label_index=2)
    for split, table in labels.items():
        (root / f"kinetics_{split}_label.json").write_text(json.dumps(table))
    return made


def test_prepare_kinetics_release(tmp_path, store):
    root = tmp_path / "kinetics-skeleton"
    made = _release(root)
    report = prepare_dataset("kinetics", PrepareRequest(root=root, workers=2), store)
    assert report.clips == 6 and report.per_split == {"train": 4, "val": 2}
    assert report.skipped_by_reason == {"empty": 1, "missing file": 1}
    assert report.excluded == {"has_skeleton: false": 1, "not in the label file": 1}
    assert len(report.warnings) == 1 and "b2.json: label_index 0 in the file, 2 in kinetics_val_label.json" in report.warnings[0]
    with store.collection("kinetics") as coll:
        assert coll.class_names == ["abseiling", "air drumming", "archery"]
        assert coll.skeleton.name == "openpose18" and coll.persons == 2 and coll.fps == 30
        ids = list(coll.sample_ids)
        assert ids == ["a1", "a2", "b1", "c1", "a3", "b2"]
        for i, vid in enumerate(ids):
            np.testing.assert_array_equal(coll.frames(i), kinetics_array(made[vid], 2))
        assert coll.labels[ids.index("b2")] == 2  # the side file wins
        assert coll.meta("frame_base")[ids.index("a2")] == 0 and coll.meta("frame_base")[0] == 1
        assert coll.captions(ids.index("c1"))[0].text == "air drumming"
        assert coll.provenance["warnings"] == report.warnings
    sub = prepare_dataset("kinetics", PrepareRequest(root=root, classes=["archery"], persons=1), store, collection="k1")
    assert sub.clips == 2 and sub.excluded["not in --classes"] == 5


def test_missing_label_file_is_one_clear_error(tmp_path, store):
    (tmp_path / "kinetics_val").mkdir()
    with pytest.raises(KinemicError, match="kinetics_val_label.json: label file not found"):
        prepare_dataset("kinetics", PrepareRequest(root=tmp_path), store)
    with pytest.raises(KinemicError, match="frame_base"):
        prepare_dataset("kinetics", PrepareRequest(root=tmp_path, options={"frame_base": "2"}), store)
