"""The procedural demo world: sizes, determinism, kinematic sanity, captions, difficulty, store round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from datasets_plugins.demo import DemoAdapter, DemoT2MAdapter
from datasets_plugins.demo_world.captions import FORBIDDEN_WORDS
from datasets_plugins.demo_world.kinematics import bone_lengths
from datasets_plugins.demo_world.source import (
    MAX_FRAMES,
    MIN_FRAMES,
    VOCABULARY,
    parse_segments,
)
from datasets_plugins.demo_world.target import SOURCE_MAPPING, TARGET_CLASSES
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.skeletons import SMPL22
from kinemic_cli.store import MotionStore


@pytest.fixture(scope="module")
def target():
    stream = DemoAdapter().open(PrepareRequest(seed=0))
    return stream.info, list(stream.items)


@pytest.fixture(scope="module")
def source():
    stream = DemoT2MAdapter().open(PrepareRequest(seed=0, options={"clips": "400"}))
    return stream.info, list(stream.items)


def _norm(name: str) -> str:
    return name.replace("_", " ").lower()


def test_target_counts_classes_subjects_cameras_splits(target):
    info, clips = target
    assert info.skeleton is SMPL22 and info.fps == 20.0 and info.kind == "har"
    assert len(info.class_names) >= 12 and info.attrs["protocols"] == ["xsub"]
    assert len(clips) == 24 * 3 * 2 * len(info.class_names)
    assert {c.subject for c in clips} == set(range(1, 25))
    assert {c.camera for c in clips} == {1, 2, 3}
    assert {c.label for c in clips} == set(range(len(info.class_names)))
    for c in clips:
        assert c.frames.shape[1:] == (1, 22, 3) and c.frames.dtype == np.float32
        assert 20 <= c.length <= 80
        assert c.splits in (("xsub/train",), ("xsub/val",))
        assert c.replication in (1, 2) and c.captions[0].text == info.class_names[c.label]
    train_subjects = {c.subject for c in clips if c.splits == ("xsub/train",)}
    val_subjects = {c.subject for c in clips if c.splits == ("xsub/val",)}
    assert not train_subjects & val_subjects and len(train_subjects) == 16 and len(val_subjects) == 8
    assert len({c.sample_id for c in clips}) == len(clips)


def test_target_lengths_vary_within_every_class(target):
    info, clips = target
    for k in range(len(info.class_names)):
        lengths = [c.length for c in clips if c.label == k]
        assert min(lengths) <= 30 and max(lengths) >= 70


def test_source_counts_lengths_captions_segments(source):
    info, clips = source
    assert info.kind == "t2m" and info.class_names == list(VOCABULARY)
    assert len(clips) == 400
    assert {s for c in clips for s in c.splits} == {"train", "val", "test"}
    for c in clips:
        assert MIN_FRAMES <= c.length <= MAX_FRAMES
        whole = [cap for cap in c.captions if cap.start == 0 and cap.end is None]
        partial = [cap for cap in c.captions if cap.end is not None]
        assert len(whole) >= 2 and len({cap.text for cap in whole}) == len(whole)
        segments = parse_segments(c.extra["segments"])
        assert 2 <= len(segments) <= 5 and all(name in VOCABULARY for name, _, _ in segments)
        assert segments[0][1] == 0 and segments[-1][2] == c.length
        assert all(a[2] == b[1] for a, b in zip(segments, segments[1:]))
        assert [(cap.start, cap.end) for cap in partial] == [(s, e) for _, s, e in segments]
        assert all(0 <= cap.start < cap.end <= c.length for cap in partial)
    # sit_down is followed by stand_up unless it ends the clip
    for c in clips:
        names = [n for n, _, _ in parse_segments(c.extra["segments"])]
        for a, b in zip(names, names[1:]):
            assert a != "sit_down" or b == "stand_up"


def test_determinism_and_independence_from_limit_and_selection(target):
    info, clips = target
    again = list(DemoAdapter().open(PrepareRequest(seed=0, limit=30)).items)
    assert len(again) == 30
    for a, b in zip(clips[:30], again):
        assert a.sample_id == b.sample_id and np.array_equal(a.frames, b.frames)
    picked = DemoAdapter().open(PrepareRequest(seed=0, classes=["pick up", "wave"], limit=4))
    assert picked.info.class_names == ["pick up", "wave"]
    by_id = {c.sample_id: c for c in clips}
    for c in picked.items:
        ref = by_id[c.sample_id]
        assert np.array_equal(c.frames, ref.frames)
        assert picked.info.class_names[c.label] == info.class_names[ref.label]
    other = next(iter(DemoAdapter().open(PrepareRequest(seed=1, limit=1)).items))
    assert not np.array_equal(other.frames, clips[0].frames[: other.length]) or other.length != clips[0].length
    s1 = list(DemoT2MAdapter().open(PrepareRequest(seed=0, options={"clips": "5"})).items)
    s2 = list(DemoT2MAdapter().open(PrepareRequest(seed=0, limit=5)).items)
    for a, b in zip(s1, s2):
        assert np.array_equal(a.frames, b.frames) and a.captions == b.captions and a.extra == b.extra


def test_bone_lengths_fixed_feet_on_floor_and_smooth(target, source):
    for clips, jumpy in ((target[1][::7], 0.08), (source[1][::4], 0.08)):
        for c in clips:
            x = c.frames[:, 0].astype(np.float64)
            lengths = bone_lengths(x, SMPL22.parents)
            assert np.ptp(lengths, axis=0).max() < 1e-4, c.sample_id  # rigid bones within a clip
            feet = x[:, [7, 8, 10, 11], 1].min(-1)
            assert np.median(feet) < jumpy and feet.min() > -0.01  # on the floor unless jumping
            assert (x[:, 15, 1] > x[:, 0, 1]).mean() > 0.95  # head above pelvis: upright
            step = np.linalg.norm(np.diff(x, axis=0), axis=-1)
            assert step.max() < 0.6  # no teleporting joint (< 12 m/s)


def test_compositional_classes_have_no_same_name_source_primitive(source):
    vocab = {_norm(v) for v in VOCABULARY}
    missing = [c.name for c in TARGET_CLASSES if _norm(c.name) not in vocab]
    assert len(missing) >= 3
    for c in TARGET_CLASSES:
        assert set(c.source) <= set(VOCABULARY) and SOURCE_MAPPING[c.name] == c.source
        assert (c.relation == "same") == (_norm(c.name) in vocab)
    texts = [cap.text.lower() for clip in source[1] for cap in clip.captions]
    for word in FORBIDDEN_WORDS:
        assert not any(word in t for t in texts), word


def _split_arrays(clips, feature):
    x = np.array([feature(c) for c in clips], dtype=np.float64)
    y = np.array([c.label for c in clips])
    train = np.array([c.splits == ("xsub/train",) for c in clips])
    return x, y, train


def _best_threshold_classifier_accuracy(x, y, train, bins=12):
    """Histogram classifier on one scalar: the best any classifier of that feature can do, roughly."""
    edges = np.quantile(x[train], np.linspace(0, 1, bins + 1)[1:-1])
    b = np.digitize(x, edges)
    table = np.zeros((bins, y.max() + 1))
    np.add.at(table, (b[train], y[train]), 1)
    pred = table.argmax(1)[b[~train]]
    return float((pred == y[~train]).mean())


def test_length_and_root_height_alone_are_near_chance(target):
    info, clips = target
    chance = 1.0 / len(info.class_names)
    acc_len = _best_threshold_classifier_accuracy(*_split_arrays(clips, lambda c: c.length))
    acc_h = _best_threshold_classifier_accuracy(*_split_arrays(clips, lambda c: c.frames[:, 0, 0, 1].mean()))
    assert acc_len < 2.0 * chance, acc_len
    assert acc_h < 2.5 * chance, acc_h


def test_simple_classifier_is_well_above_chance_but_ten_shots_fall_far_behind(target):
    info, clips = target
    n_cls = len(info.class_names)

    def feature(c):
        x = c.frames[:, 0].astype(np.float64)
        idx = np.linspace(0, len(x) - 1, 16)
        res = np.stack([np.interp(idx, np.arange(len(x)), x[:, j, k]) for j in range(22) for k in range(3)], -1)
        res = res.reshape(16, 22, 3)
        res[..., [0, 2]] -= res[:, :1, [0, 2]]
        return res.ravel()

    x, y, train = _split_arrays(clips, feature)
    mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
    x = (x - mu) / sd

    def ridge_accuracy(idx):
        onehot = np.eye(n_cls)[y[idx]]
        a = x[idx]
        w = np.linalg.solve(a.T @ a + 30.0 * np.eye(a.shape[1]), a.T @ onehot)
        return float(((x[~train] @ w).argmax(1) == y[~train]).mean())

    gt = ridge_accuracy(np.where(train)[0])
    rng = np.random.default_rng(0)
    shots = []
    for _ in range(3):
        pick = np.concatenate([rng.choice(np.where(train & (y == k))[0], 10, replace=False) for k in range(n_cls)])
        shots.append(ridge_accuracy(pick))
    # This linear least-squares proxy is the weakest learner of all we tried (measured: gt
    # ~0.73, 10 shots ~0.53); logistic regression, an MLP and a small temporal CNN open
    # gaps of 27-35 points.  The threshold guards against the world getting easy.
    assert gt > 0.6, gt
    assert gt - np.mean(shots) > 0.15, (gt, shots)


def test_options_are_checked():
    with pytest.raises(KinemicError, match="integer"):
        DemoAdapter().open(PrepareRequest(options={"subjects": "many"}))
    with pytest.raises(KinemicError, match="no class"):
        DemoAdapter().open(PrepareRequest(classes=["moonwalk"]))
    with pytest.raises(KinemicError, match="does not accept"):
        DemoT2MAdapter().open(PrepareRequest(options={"reps": "2"}))
    small = DemoAdapter().open(PrepareRequest(options={"subjects": "3", "reps": "1"}, classes=["0", "jump"]))
    assert small.total == 3 * 3 * 2 and small.info.class_names == ["wave", "jump"]


def test_store_round_trip(tmp_path, target, source):
    store = MotionStore(tmp_path / "kinemic.h5")
    for name, (info, clips) in (("demo", (target[0], target[1][:60])), ("corpus", (source[0], source[1][:40]))):
        w = store.writer(name, skeleton=info.skeleton, fps=info.fps, class_names=info.class_names, kind=info.kind,
                         persons=1, attrs=info.attrs)
        for c in clips:
            w.add(c)
        coll = w.commit({"command": "test"})
        assert len(coll) == len(clips)
        for i in (0, len(clips) - 1):
            assert np.array_equal(coll.frames(i), clips[i].frames)
            assert [(k.text, k.start, k.end if k.end is not None else clips[i].length) for k in coll.captions(i)] == [
                (k.text, k.start, k.end if k.end is not None else clips[i].length) for k in clips[i].captions
            ]
        coll.close()
    with store.collection("demo") as coll:
        assert set(coll.split_names()) >= {"xsub/train", "xsub/val"}
    with store.collection("corpus") as coll:
        assert parse_segments(str(coll.clip(3).extra["segments"]))
