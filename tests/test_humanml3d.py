"""HumanML3D adapter: a folder fixture in the release layout, with partial captions and traps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datasets_plugins.captions import exact_frame, parse_caption_lines
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest
from kinemic_cli.store.prepare import prepare_dataset


def _motion(rng, frames: int) -> tuple[np.ndarray, np.ndarray]:
    return (rng.normal(size=(frames, 263)).astype(np.float32),
            np.cumsum(rng.normal(scale=0.01, size=(frames, 22, 3)), axis=0).astype(np.float32))


def _folder(root: Path) -> dict:
    rng = np.random.default_rng(0)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True)
    made = {}
    for sid, frames in (("000001", 60), ("000002", 45), ("M000001", 60), ("000003", 80), ("000004", 50)):
        vecs, joints = _motion(rng, frames)
        np.save(root / "new_joint_vecs" / f"{sid}.npy", vecs)
        np.save(root / "new_joints" / f"{sid}.npy", joints)
        made[sid] = (vecs, joints)
    (root / "texts" / "000001.txt").write_text(
        "a person walks forward.#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0\n"
        "someone waves with the left hand.#someone/PRON wave/VERB#0.7#2.9\n"
        "the man jumps.#the/DET man/NOUN jump/VERB#nan#nan\n"
        "a kick far too late.#a/DET kick/NOUN#9.0#12.0\n")
    (root / "texts" / "M000001.txt").write_text("a person walks forward.#a/DET#0.0#0.0\n")
    (root / "texts" / "000002.txt").write_text("a person crouches.#a/DET#0.5#10.0\n")
    # 000003 has no caption file; 000004 carries a pickle instead of numbers
    with open(root / "new_joint_vecs" / "000004.npy", "wb") as f:
        np.save(f, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (root / "texts" / "000004.txt").write_text("a person sits.#a/DET#0.0#0.0\n")
    vecs, joints = _motion(rng, 30)
    np.save(root / "new_joint_vecs" / "extra.npy", vecs)  # in no split list
    (root / "train.txt").write_text("000001\nM000001\n000003\n")
    (root / "val.txt").write_text("000002\n000004\n")
    (root / "test.txt").write_text("")
    np.save(root / "Mean.npy", np.linspace(0, 1, 263).astype(np.float32))
    np.save(root / "Std.npy", np.full(263, 0.5, np.float32))
    return made


def test_prepare_humanml3d_folder(tmp_path, store):
    root = tmp_path / "HumanML3D"
    made = _folder(root)
    report = prepare_dataset("humanml3d", PrepareRequest(root=root), store)
    assert report.clips == 3 and report.per_split == {"train": 2, "val": 1}
    assert report.skipped_by_reason == {"missing file": 1, "not a numeric array": 1}
    assert report.excluded == {"in no split list": 1}
    assert len(report.warnings) == 1 and "000001.txt: line 4: window 9s-12s is empty" in report.warnings[0]
    with store.collection("humanml3d") as coll:
        assert coll.kind == "t2m" and coll.skeleton.name == "smpl22" and coll.fps == 20
        assert list(coll.sample_ids) == ["000001", "000002", "M000001"]
        np.testing.assert_array_equal(coll.frames(0)[:, 0], made["000001"][1])
        np.testing.assert_array_equal(coll.frame_data("hml263", 0), made["000001"][0])
        caps = [(c.text, c.start, c.end) for c in coll.captions(0)]
        # 0.7 s -> frame 14, 2.9 s -> frame 58 (int(t * 20), the reference loader's rule); NaN tags: the whole clip
        assert caps == [("a person walks forward.", 0, 60), ("someone waves with the left hand.", 14, 58),
                        ("the man jumps.", 0, 60)]
        assert [(c.start, c.end) for c in coll.captions(1)] == [(10, 45)]  # end clipped to the clip
        assert coll.attrs["hml263_std"] == [0.5] * 263 and len(coll.attrs["hml263_mean"]) == 263
        assert coll.frame_data_names() == ["hml263"]


def test_never_unpickles_and_refuses_classes(tmp_path, store):
    root = tmp_path / "H"
    _folder(root)
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    with open(root / "new_joints" / "000002.npy", "wb") as f:
        np.save(f, np.array([Evil()], dtype=object), allow_pickle=True)
    report = prepare_dataset("humanml3d", PrepareRequest(root=root), store)
    assert not marker.exists() and report.skipped_by_reason["not a numeric array"] == 2
    with pytest.raises(KinemicError, match="without classes; --classes needs --option labels=FILE"):
        prepare_dataset("humanml3d", PrepareRequest(root=root, classes=["walk"]), store, collection="x")
    with pytest.raises(KinemicError, match="no new_joint_vecs/ folder"):
        prepare_dataset("humanml3d", PrepareRequest(root=tmp_path), store, collection="y")


def test_caption_frames_reference_and_exact():
    text = "a#x#4.1#5.0\nb##0#0\n\n#only tokens#0#1\n"
    caps, notes = parse_caption_lines(text, length=200, fps=30)
    assert 4.1 * 30 < 123  # the float product falls just short of the frame the time names
    assert [(c.text, c.start, c.end) for c in caps] == [("a", 122, 150), ("b", 0, None)]
    assert notes == ["line 4: no caption text"]
    caps, _ = parse_caption_lines(text, length=200, fps=30, frame=exact_frame)
    assert (caps[0].start, caps[0].end) == (123, 150)
    assert all(exact_frame(k / 29.97, 29.97) == k for k in range(2000))


def test_an_hml263_prior_reads_the_stored_vectors(tmp_path, store):
    """Adaptation on a HumanML3D-layout target uses the release's own 263-d vectors (not a
    recomputation from the joints); a rootrel prior, or another frame rate, computes its own."""
    import torch

    from kinemic_cli.models.denoiser import create_denoiser
    from kinemic_cli.motion.features import HumanML3DFeatures, RootRelativeFeatures
    from kinemic_cli.motion.normaliser import Normaliser
    from kinemic_cli.prior.bundle import Prior
    from kinemic_cli.prior.diffusion import CosineSchedule
    from kinemic_cli.skeletons import SMPL22

    made = _folder(tmp_path / "HumanML3D")
    prepare_dataset("humanml3d", PrepareRequest(root=tmp_path / "HumanML3D"), store)

    def prior(space, fps=20.0):
        torch.manual_seed(0)
        norm = Normaliser(np.full(space.dim, 0.25, np.float32), np.full(space.dim, 0.5, np.float32))
        return Prior(model=create_denoiser("tiny", features=space.dim, text_dim=384), schedule=CosineSchedule(10),
                     normaliser=norm, skeleton=SMPL22, features=space, text_encoder=None,
                     text_encoder_name="all-MiniLM-L6-v2", fps=fps, max_frames=60, preset="tiny")

    with store.collection("humanml3d") as coll:
        hml = prior(HumanML3DFeatures(SMPL22))
        np.testing.assert_allclose(hml.stored_features(coll, 0, start=5, end=25),
                                   (made["000001"][0][5:25] - 0.25) / 0.5, atol=1e-6)
        assert prior(RootRelativeFeatures(SMPL22)).stored_features(coll, 0) is None
        assert prior(HumanML3DFeatures(SMPL22), fps=30.0).stored_features(coll, 0) is None
