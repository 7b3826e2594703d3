"""`adapt --augment-shots`: geometric copies of the shots for the student's reconstruction loss."""

import numpy as np
import pytest
from test_adapt import _config, _metrics, _run, adapt_store  # noqa: F401  (the module's store fixture)

from kinemic_cli.adapt.data import FewShotClips
from kinemic_cli.adapt.shot_augment import with_augmented_copies
from kinemic_cli.errors import KinemicError
from kinemic_cli.motion.features import RootRelativeFeatures
from kinemic_cli.skeletons import SMPL22


def _shots(n=4, frames=20):
    rng = np.random.default_rng(0)
    rest = rng.normal(0, 0.3, (22, 3)).astype(np.float32)
    joints = [rest[None] + rng.normal(0, 0.02, (frames + 3 * i, 22, 3)).astype(np.float32) for i in range(n)]
    space = RootRelativeFeatures(SMPL22)
    return FewShotClips(np.arange(n), np.array([0, 0, 1, 1]), [f"s{i}" for i in range(n)], joints,
                        [space.from_joints(j) for j in joints]), space.from_joints


def test_copies_follow_the_shots_with_their_classes_and_are_reproducible():
    shots, to_features = _shots()
    class_ids = np.array([0, 0, 1, 1])
    same, ids = with_augmented_copies(shots, class_ids, 0, seed=0, max_frames=100, to_features=to_features)
    assert same is shots and list(ids) == [0, 0, 1, 1]
    out, ids = with_augmented_copies(shots, class_ids, 2, seed=0, max_frames=100, to_features=to_features)
    assert len(out.features) == 12 and list(ids) == [0, 0, 1, 1] * 3 and list(out.labels) == [0, 0, 1, 1] * 3
    assert out.sample_ids[:4] == shots.sample_ids and out.sample_ids[4] == "s0~aug1" and out.sample_ids[11] == "s3~aug2"
    for k in range(4):  # the originals first, untouched
        np.testing.assert_array_equal(out.joints[k], shots.joints[k])
    for k in range(4, 12):  # each copy is a different clip of the same body layout, never longer than max_frames
        orig = shots.joints[k % 4]
        assert out.joints[k].shape[1:] == orig.shape[1:] and len(out.joints[k]) <= 100
        n = min(len(orig), len(out.joints[k]))
        assert np.abs(out.joints[k][:n] - orig[:n]).mean() > 1e-3
        assert out.features[k].shape == (len(out.joints[k]), shots.features[0].shape[1])
    again, _ = with_augmented_copies(shots, class_ids, 2, seed=0, max_frames=100, to_features=to_features)
    other, _ = with_augmented_copies(shots, class_ids, 2, seed=1, max_frames=100, to_features=to_features)
    assert all(np.array_equal(a, b) for a, b in zip(again.joints, out.joints))
    assert not all(np.array_equal(a, b) for a, b in zip(other.joints[4:], out.joints[4:]))
    short, _ = with_augmented_copies(shots, class_ids, 1, seed=0, max_frames=12, to_features=to_features)
    assert max(len(j) for j in short.joints[4:]) <= 12


def test_adapt_trains_on_the_copies_and_records_the_option(tmp_path, adapt_store):  # noqa: F811
    import json

    _run(adapt_store, _config(tmp_path, "aug", method="finetune", max_steps=3, augment_shots=2))
    saved = json.loads((tmp_path / "aug" / "config.json").read_text())["config"]
    assert saved["augment_shots"] == 2
    manifest = json.loads((tmp_path / "aug" / "adapted.json").read_text())
    # the generated lengths still come from the shots alone (3 classes x 3 shots)
    assert sum(len(v) for v in manifest["lengths_per_class"].values()) == 9
    _run(adapt_store, _config(tmp_path, "plain", method="finetune", max_steps=3))
    # the batch of 9 is all 9 shots without copies, and a draw from 27 clips with them
    assert [r["rec"] for r in _metrics(tmp_path / "aug")] != [r["rec"] for r in _metrics(tmp_path / "plain")]
    with pytest.raises(KinemicError, match="--augment-shots"):
        _config(tmp_path, "bad", augment_shots=-1)
