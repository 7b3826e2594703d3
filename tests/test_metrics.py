"""Metrics: FID against closed forms, diversity, multimodality, accuracy bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from kinemic_cli.errors import KinemicError
from kinemic_cli.evaluate.metrics import diversity, fid, frechet_distance, multimodality
from kinemic_cli.har.metrics import accuracy, confusion_matrix, mean_std, per_class_accuracy


def test_fid_of_identical_sets_is_zero():
    f = np.random.default_rng(0).normal(size=(500, 8))
    assert fid(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    # diagonal covariances: FID = |mu1-mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = 5.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-9)
    # rotated (non-diagonal) covariances: FID is invariant to a common rotation
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    rotated = frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-7)


def test_fid_of_sampled_sets_approaches_the_closed_form_and_grows_with_shift():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(20000, 4))
    b = rng.normal(size=(20000, 4)) * 2.0 + 1.0  # mu shift 1 per dim, std 2 -> 4*1 + 4*(2-1)^2 = 8
    assert fid(a, b) == pytest.approx(8.0, rel=0.05)
    near = rng.normal(size=(20000, 4)) + 0.1
    assert 0 < fid(a, near) < fid(a, b)
    with pytest.raises(KinemicError):
        fid(a[:1], b)
    with pytest.raises(KinemicError):
        fid(a, b[:, :3])


def test_diversity_and_multimodality():
    rng = np.random.default_rng(3)
    tight = rng.normal(scale=0.1, size=(300, 5))
    wide = rng.normal(scale=1.0, size=(300, 5))
    assert diversity(tight) < diversity(wide)
    assert diversity(wide, seed=1) == diversity(wide, seed=1)
    # two well-separated classes, each tight: high diversity, low multimodality
    labels = np.repeat([0, 1], 150)
    feats = tight + labels[:, None] * 10.0
    assert multimodality(feats, labels) < 0.5 < 5 < diversity(feats)
    assert np.isnan(diversity(tight[:1]))


def test_accuracy_confusion_and_per_class():
    target = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    assert accuracy(pred, target) == pytest.approx(0.6)
    cm = confusion_matrix(pred, target, 4)
    assert cm.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    pc = per_class_accuracy(pred, target, 4)
    np.testing.assert_allclose(pc[:3], [0.5, 1.0, 0.0])
    assert np.isnan(pc[3])
    s = mean_std([0.5, 0.7])
    assert s["mean"] == pytest.approx(0.6) and s["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1)) and s["n"] == 2
    assert mean_std([0.4])["std"] == 0.0
