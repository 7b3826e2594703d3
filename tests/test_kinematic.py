"""The kinematic gate on mined windows and the thresholded window weight."""

from __future__ import annotations

import numpy as np
import torch
from har_support import standing_pose

from kinemic_cli.adapt.data import BatchSampler, FewShotClips
from kinemic_cli.adapt.kinematic import kinematic_scores, motion_profile
from kinemic_cli.adapt.mining import MiningResult, SourceCandidates
from kinemic_cli.adapt.windows import dynamic_window_weights
from kinemic_cli.skeletons import SMPL22

RIGHT_WRIST, LEFT_KNEE, HEAD = 21, 4, 15


def _moving(joint: int, frames: int = 40, seed: int = 0, amplitude: float = 0.25) -> np.ndarray:
    """A standing body that moves one joint sinusoidally, with a little sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 20.0
    x = np.repeat(standing_pose()[None].astype(np.float64), frames, axis=0)
    phase = 2 * np.pi * rng.uniform(0.8, 1.4) * t + rng.uniform(0, np.pi)
    x[:, joint, 1] += amplitude * np.sin(phase)
    x[:, joint, 2] += 0.8 * amplitude * np.cos(phase)
    return x + rng.normal(scale=0.003, size=x.shape)


def test_the_gate_ranks_windows_by_how_they_move():
    shots = [_moving(RIGHT_WRIST, seed=s) for s in range(4)] + [_moving(LEFT_KNEE, seed=10 + s) for s in range(4)]
    shot_classes = np.array([0] * 4 + [1] * 4)  # class 0 moves the right wrist, class 1 the left knee
    windows = {0: _moving(RIGHT_WRIST, frames=60, seed=99), 1: _moving(LEFT_KNEE, frames=60, seed=98),
               2: _moving(HEAD, frames=60, seed=97)}
    neighbours = np.array([[1, 0, 2], [0, 1, 2]])  # text order: the wrong window first for both classes
    scores = kinematic_scores(neighbours, shots, shot_classes, lambda n: windows[n], skeleton=SMPL22, fps=20.0)
    assert scores[0, 1] > scores[0, 0] and scores[0, 1] > scores[0, 2]  # the arm window, for the arm class
    assert scores[1, 1] > scores[1, 0] and scores[1, 1] > scores[1, 2]  # the knee window, for the knee class


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
    sampler.source_window_joints = lambda n: np.zeros((10, 22, 3))
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
