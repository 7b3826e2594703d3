"""The kinematic gate on mined windows and the thresholded window weight."""

from __future__ import annotations

import numpy as np
import torch
from har_support import standing_pose

from kinemic_cli.adapt.data import BatchSampler, FewShotClips
from kinemic_cli.adapt.kinematic import (
    PACE_LIMITS,
    WindowMotion,
    kinematic_scores,
    kinematic_scores_and_margins,
    motion_profile,
    motion_speed,
    pace_factors,
)
from kinemic_cli.adapt.mining import MiningResult, SourceCandidates
from kinemic_cli.adapt.windows import dynamic_window_weights
from kinemic_cli.skeletons import SMPL22

RIGHT_WRIST, LEFT_KNEE, HEAD = 21, 4, 15


def _moving(joint: int, frames: int = 40, seed: int = 0, amplitude: float = 0.25, hz: float | None = None,
            noise: float = 0.003) -> np.ndarray:
    """A standing body that moves one joint sinusoidally, with a little sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 20.0
    x = np.repeat(standing_pose()[None].astype(np.float64), frames, axis=0)
    phase = 2 * np.pi * (hz or rng.uniform(0.8, 1.4)) * t + rng.uniform(0, np.pi)
    x[:, joint, 1] += amplitude * np.sin(phase)
    x[:, joint, 2] += 0.8 * amplitude * np.cos(phase)
    return x + rng.normal(scale=noise, size=x.shape)


def test_the_gate_ranks_windows_by_how_they_move():
    shots = [_moving(RIGHT_WRIST, seed=s) for s in range(4)] + [_moving(LEFT_KNEE, seed=10 + s) for s in range(4)]
    shot_classes = np.array([0] * 4 + [1] * 4)  # class 0 moves the right wrist, class 1 the left knee
    windows = {0: _moving(RIGHT_WRIST, frames=60, seed=99), 1: _moving(LEFT_KNEE, frames=60, seed=98),
               2: _moving(HEAD, frames=60, seed=97)}
    neighbours = np.array([[1, 0, 2], [0, 1, 2]])  # text order: the wrong window first for both classes
    described = WindowMotion(lambda n: windows[n], SMPL22, 20.0)
    scores = kinematic_scores(neighbours, shots, shot_classes, described, skeleton=SMPL22, fps=20.0)
    assert scores[0, 1] > scores[0, 0] and scores[0, 1] > scores[0, 2]  # the arm window, for the arm class
    assert scores[1, 1] > scores[1, 0] and scores[1, 1] > scores[1, 2]  # the knee window, for the knee class


def test_the_margin_tells_a_window_that_moves_like_another_class():
    """A knee window mined for the arm class moves more like the knee shots: negative margin; re-ranking by
    caption similarity + margin puts the arm window first although its caption ranked it last."""
    shots = [_moving(RIGHT_WRIST, seed=s) for s in range(4)] + [_moving(LEFT_KNEE, seed=10 + s) for s in range(4)]
    shot_classes = np.array([0] * 4 + [1] * 4)
    windows = {0: _moving(RIGHT_WRIST, frames=60, seed=99), 1: _moving(LEFT_KNEE, frames=60, seed=98)}
    neighbours = np.array([[1, 0], [1, 0]])
    described = WindowMotion(lambda n: windows[n], SMPL22, 20.0)
    scores, margins = kinematic_scores_and_margins(neighbours, shots, shot_classes, described, skeleton=SMPL22, fps=20.0)
    np.testing.assert_allclose(scores, kinematic_scores(neighbours, shots, shot_classes, described,
                                                        skeleton=SMPL22, fps=20.0))
    assert margins[0, 0] < 0 < margins[0, 1]  # arm class: the knee window is the other class's motion
    assert margins[1, 1] < 0 < margins[1, 0]  # knee class: the other way round
    np.testing.assert_allclose(margins[0, 0], -margins[1, 0], atol=1e-6)  # same window, the two classes' view
    mining = _mining([[0.9, 0.9], [0.9, 0.9]])
    mining.neighbours, mining.similarities = neighbours.copy(), np.array([[0.6, 0.5], [0.6, 0.5]], np.float32)
    kept = mining.rerank(mining.similarities + margins, 1)
    assert mining.neighbours.tolist() == [[0], [1]] and kept.tolist() == [[1], [0]]
    np.testing.assert_allclose(mining.similarities, [[0.5], [0.6]])


def test_a_profile_ignores_where_and_which_way_the_body_stands():
    clip = _moving(RIGHT_WRIST)
    yaw = np.deg2rad(70)
    rot = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    moved = clip @ rot.T + np.array([3.0, 0.0, -2.0])
    np.testing.assert_allclose(motion_profile(moved, SMPL22, 20.0), motion_profile(clip, SMPL22, 20.0), atol=1e-6)


def _mining(weights):
    candidates = SourceCandidates("src", np.array([[0, 0, 10], [1, 0, 10], [2, 0, 10], [3, 0, 10]]),
                                  [[0], [1], [2], [3]], ["a", "b", "c", "d"])
    mining = MiningResult(["x", "y"], [["x"], ["y"]], np.eye(2, 4, dtype=np.float32), [np.ones((1, 4))] * 2,
                          candidates, np.eye(4, dtype=np.float32), np.array([[0, 1], [2, 3]]),
                          np.ones((2, 2), np.float32))
    mining.gate(np.asarray(weights, np.float32), 0.5)
    return mining


def test_the_sampler_never_draws_a_gated_window_and_marks_classes_without_one():
    mining = _mining([[0.9, 0.1], [0.2, 0.3]])  # class 0 keeps window 0 only; class 1 keeps none
    shots = FewShotClips(np.arange(4), np.array([0, 0, 1, 1]), ["a", "b", "c", "d"],
                         [np.zeros((10, 22, 3))] * 4, [np.zeros((10, 67), np.float32)] * 4)
    sampler = BatchSampler(shots, np.array([0, 0, 1, 1]), [np.ones((1, 4), np.float32)] * 2, batch_size=4,
                           rng=np.random.default_rng(0), mining=mining, source=None,
                           source_prepare=lambda frames, where: np.zeros((10, 22, 3)),
                           to_features=lambda j: np.zeros((len(j), 67), np.float32), source_length=lambda n: 10)
    sampler.source_window_joints = lambda n, pace=1.0: np.zeros((10, 22, 3))
    for _ in range(20):
        batch = sampler.draw()
        for n, c, w in zip(batch["neighbours"], batch["labels"].tolist(), batch["source_weight"].tolist()):
            assert (c == 0 and n == 0 and w == 1.0) or (c == 1 and w == 0.0)


def test_the_window_weight_threshold_gives_an_unrelated_window_nothing():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # same, unrelated, opposite
    paper = dynamic_window_weights(z, w)
    assert torch.allclose(paper, torch.tensor([1.0, 0.5, 0.0]))  # (1 + cos) / 2
    assert torch.allclose(dynamic_window_weights(z, w, threshold=-1.0), paper)
    assert torch.allclose(dynamic_window_weights(z, w, threshold=0.0), torch.tensor([1.0, 0.0, 0.0]))


def test_pace_factors_bring_a_slow_window_to_the_shots_pace_within_limits():
    shots = [_moving(RIGHT_WRIST, frames=60, seed=s, hz=1.0, noise=0.0) for s in range(3)]
    windows = {0: _moving(RIGHT_WRIST, frames=120, seed=50, hz=0.5, noise=0.0),   # the same motion at half the pace
               1: _moving(RIGHT_WRIST, frames=60, seed=51, hz=1.0, noise=0.0),    # at the shots' pace
               2: _moving(RIGHT_WRIST, frames=200, seed=52, hz=0.1, noise=0.0),   # ten times slower: clipped
               3: np.repeat(standing_pose()[None].astype(np.float64), 30, axis=0)}  # still: left as it is
    described = WindowMotion(lambda n: windows[n], SMPL22, 20.0)
    factors = pace_factors(np.array([[0, 1, 2, 3]]), shots, np.zeros(3, np.int64), described,
                           skeleton=SMPL22, fps=20.0)
    assert 1.7 < factors[0, 0] < 2.3 and 0.85 < factors[0, 1] < 1.15
    assert factors[0, 2] == PACE_LIMITS[1] and factors[0, 3] == 1.0


def test_the_sampler_retimes_a_drawn_window_by_its_pace():
    """A window mined at half the shots' pace is drawn half as long and then moves at their pace."""
    candidates = SourceCandidates("src", np.array([[0, 0, 80], [0, 0, 80]]), [[0], [1]], ["a", "b"])
    mining = MiningResult(["x"], [["x"]], np.eye(1, 2, dtype=np.float32), [np.ones((1, 2))], candidates,
                          np.eye(2, dtype=np.float32), np.array([[0, 1]]), np.ones((1, 2), np.float32),
                          pace=np.full((1, 2), 2.0, np.float32))
    slow = _moving(RIGHT_WRIST, frames=80, seed=7, hz=0.5, noise=0.0)
    shot = _moving(RIGHT_WRIST, frames=40, seed=8, hz=1.0, noise=0.0)
    drawn = []

    def to_features(joints):
        drawn.append(joints)
        return np.zeros((len(joints), 67), np.float32)

    source = type("Source", (), {"name": "src", "sample_ids": ["s0"], "frames": staticmethod(lambda clip: slow[:, None])})()
    sampler = BatchSampler(FewShotClips(np.arange(1), np.array([0]), ["a"], [shot], [np.zeros((40, 67), np.float32)]),
                           np.array([0]), [np.ones((1, 2), np.float32)], batch_size=1, rng=np.random.default_rng(0),
                           mining=mining, source=source, source_prepare=lambda frames, where: frames[:, 0],
                           to_features=to_features, source_length=lambda n: n)
    batch = sampler.draw()
    assert batch["source"].shape[1] == 40 and batch["source_mask"].sum().item() == 40  # 80 frames played twice as fast
    assert len(drawn) == 1 and len(drawn[0]) == 40
    paced, own = motion_speed(drawn[0], SMPL22, 20.0), motion_speed(slow, SMPL22, 20.0)
    assert abs(paced / own - 2.0) < 0.1 and abs(paced / motion_speed(shot, SMPL22, 20.0) - 1.0) < 0.15
