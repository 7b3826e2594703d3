"""Geometric augmentation: shapes and labels kept, data really changed, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from har_support import make_har_clip

from kinemic_cli.errors import KinemicError
from kinemic_cli.har.augment import AugmentConfig, augment_bank, augment_clip
from kinemic_cli.har.data import ClipBank, prenormalise
from kinemic_cli.skeletons import SMPL22


def _bank(n: int = 6) -> ClipBank:
    rng = np.random.default_rng(0)
    clips = [make_har_clip(i % 4, rng, f"c{i}", "xsub/train") for i in range(n)]
    return ClipBank.from_clips([prenormalise(c.frames, SMPL22) for c in clips], [c.label for c in clips], "real",
                               source_index=np.arange(n))


def test_augment_bank_keeps_originals_and_labels():
    bank = _bank()
    out = augment_bank(bank, 3, np.random.default_rng(1))
    assert len(out) == 4 * len(bank)
    np.testing.assert_array_equal(out.labels, np.tile(bank.labels, 4))
    np.testing.assert_array_equal(out.source_index[len(bank):], np.tile(bank.source_index, 3))
    assert list(out.origin[: len(bank)]) == ["real"] * len(bank) and set(out.origin[len(bank):]) == {"augment"}
    assert out.data.shape[2:] == bank.data.shape[2:]
    for i in range(len(bank)):  # the originals are untouched
        np.testing.assert_array_equal(out.data[i, : bank.lengths[i]], bank.data[i, : bank.lengths[i]])


def test_augment_changes_geometry_and_timing_but_not_bone_lengths_much():
    clip = _bank(1).data[0, : _bank(1).lengths[0]]
    rng = np.random.default_rng(3)
    copies = [augment_clip(clip, rng) for _ in range(8)]
    assert all(c.shape[1:] == clip.shape[1:] for c in copies)
    assert len({c.shape[0] for c in copies}) > 1  # time warp changes the length
    for c in copies:
        same_len = min(len(c), len(clip))
        assert np.abs(c[:same_len] - clip[:same_len]).mean() > 1e-3
    # no augmentation at all when every range is zero (and no time change)
    still = augment_clip(clip, rng, AugmentConfig(rotate_deg=0, scale=0, shear=0, time_scale=0, warp_strength=0))
    np.testing.assert_allclose(still, clip, atol=1e-5)


def test_augment_is_reproducible_and_keeps_missing_joints_zero():
    clip = _bank(1).data[0, :30].copy()
    clip[:, :, 5] = 0  # an undetected joint
    a = augment_clip(clip, np.random.default_rng(7))
    b = augment_clip(clip, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert np.all(a[:, :, 5] == 0)
    two_d = np.concatenate([clip[..., :2], np.full(clip.shape[:-1] + (1,), 0.9, np.float32)], axis=-1)
    out = augment_clip(two_d, np.random.default_rng(1), AugmentConfig(time_scale=0, warp_strength=0), is_2d=True)
    np.testing.assert_allclose(out[..., 2][out[..., 2] != 0], 0.9, rtol=1e-6)  # scores untouched
    with pytest.raises(KinemicError):
        augment_bank(_bank(), -1, np.random.default_rng(0))
