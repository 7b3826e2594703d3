"""ST-GCN: the skeleton graph, the input streams and the model contract over the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinemic_cli.errors import KinemicError
from kinemic_cli.models.graph import SkeletonGraph
from kinemic_cli.models.stgcn import create_stgcn, list_stgcn_variants, stgcn_from_config
from kinemic_cli.models.streams import make_stream
from kinemic_cli.runtime.checkpoints import load_state, save_state
from kinemic_cli.skeletons import NTU25, OPENPOSE18, SMPL22


def test_spatial_partition_of_smpl22():
    g = SkeletonGraph(SMPL22)
    assert g.A.shape == (3, 22, 22)
    np.testing.assert_array_equal(g.A[0], np.eye(22))
    # centripetal: left_knee (4) gathers from its parent left_hip (1); centrifugal the reverse
    assert g.A[1][4, 1] > 0 and g.A[1][1, 4] == 0
    assert g.A[2][1, 4] > 0 and g.A[2][4, 1] == 0
    # spine3 (9) has three children: neck, collars -> each centrifugal column of a child is 1,
    # and the centripetal weights of spine3's column are split evenly among its 3 children
    np.testing.assert_allclose(g.A[1][[12, 13, 14], 9], [1 / 3] * 3)
    # every non-empty column of a partition sums to one
    for k in (1, 2):
        sums = g.A[k].sum(axis=0)
        np.testing.assert_allclose(sums[sums > 0], 1.0, rtol=1e-6)
    assert g.A[1].astype(bool).sum() == len(SMPL22.bones) == 21
    assert list(g.hop_to_root[[0, 1, 4, 7, 10]]) == [0, 1, 2, 3, 4]


def test_graph_of_ntu25_uses_its_own_tree():
    g = SkeletonGraph(NTU25)
    assert g.A.shape == (3, 25, 25)
    assert g.A[1][20, 1] > 0  # SpineShoulder -> SpineMid is a bone in Kinect v2, not in SMPL
    assert np.array_equal(g.A[1].astype(bool), g.A[2].astype(bool).T)


def test_bone_and_motion_streams():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1, 5, 22, 3)).astype(np.float32)
    bone = make_stream(x, SMPL22, "bone")
    np.testing.assert_allclose(bone[..., 4, :], x[..., 4, :] - x[..., 1, :])
    np.testing.assert_array_equal(bone[..., 0, :], 0)
    motion = make_stream(torch.from_numpy(x), SMPL22, "joint-motion")
    np.testing.assert_allclose(motion[:, :, 0].numpy(), x[:, :, 1] - x[:, :, 0], rtol=1e-6)
    assert torch.all(motion[:, :, -1] == 0)
    # 2D + score: the score channel is never differenced
    op = rng.normal(size=(1, 1, 4, 18, 3)).astype(np.float32)
    np.testing.assert_array_equal(make_stream(op, OPENPOSE18, "bone-motion")[..., 2], op[..., 2])
    with pytest.raises(KinemicError, match="stream"):
        make_stream(x, SMPL22, "velocity")


@pytest.mark.parametrize("name", list_stgcn_variants())
@pytest.mark.parametrize("persons", [1, 2])
def test_registry_forward_backward_and_contract(name, persons):
    torch.manual_seed(0)
    kwargs = {"width": 0.125} if name == "stgcn" else {}
    model = create_stgcn(name, skeleton=SMPL22, num_classes=5, persons=persons, **kwargs)
    x = torch.randn(3, persons, 16, 22, 3)
    feats = model.forward_features(x)
    assert feats.shape == (3, model.num_features)
    logits = model.forward_head(feats)
    assert logits.shape == (3, 5)
    torch.testing.assert_close(model(x), logits)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.reset_classifier(7)
    assert model(x).shape == (3, 7) and model.config["num_classes"] == 7


def test_width_and_strides_shape_the_features():
    small = create_stgcn("stgcn-small", skeleton=NTU25, num_classes=3)
    tiny = create_stgcn("stgcn-tiny", skeleton=NTU25, num_classes=3)
    assert (small.num_features, tiny.num_features) == (128, 64)
    assert sum(p.numel() for p in small.parameters()) > 3 * sum(p.numel() for p in tiny.parameters())
    with pytest.raises(KinemicError, match="stgcn-small"):
        create_stgcn("resnet", skeleton=SMPL22, num_classes=3)


def test_config_round_trip_through_safetensors(tmp_path):
    model = create_stgcn("stgcn-tiny", skeleton=OPENPOSE18, num_classes=4, persons=2).eval()
    save_state(tmp_path / "m", {"model": model.state_dict()}, meta={"config": model.config})
    state, meta = load_state(tmp_path / "m")
    again = stgcn_from_config(meta["config"]).eval()
    again.load_state_dict(state["model"])
    x = torch.randn(2, 2, 12, 18, 3)
    torch.testing.assert_close(again(x), model(x))
