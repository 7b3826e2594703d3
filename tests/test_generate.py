"""`kinemic generate` from an adapted model: counts, lengths, labels, determinism, shards, resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import numpy as np
import pytest
from conftest import KINEMIC, run_kinemic

from kinemic_cli.errors import KinemicError
from kinemic_cli.generate.run import read_counts_file, real_beside_generated
from kinemic_cli.store import MotionStore

FAST = ("--sampler", "ddim", "--steps", "4")


def _gen(pipeline, *args):
    return json.loads(run_kinemic("generate", "--model", str(pipeline["adapted"]), *FAST, "--store", pipeline["store"],
                                  "--json", *args).stdout)


def _frames(store, name):
    with MotionStore(store).collection(name) as coll:
        return list(coll.sample_ids), [coll.frames(i) for i in range(len(coll))]


def test_per_class_output_labels_lengths_and_provenance(pipeline):
    out = _gen(pipeline, "--per-class", "4", "--collection", "g-main", "--batch-size", "3")
    assert out["clips"] == 12 and out["per_class"] == {"wave": 4, "kick": 4, "squat": 4}
    manifest = json.loads((pipeline["adapted"] / "adapted.json").read_text())
    store = MotionStore(pipeline["store"])
    with store.collection("g-main") as coll, store.collection("demo") as real:
        assert coll.class_names == real.class_names and coll.skeleton == real.skeleton and coll.fps == real.fps
        for i in range(len(coll)):
            name = coll.class_names[int(coll.labels[i])]
            assert int(coll.lengths[i]) in manifest["lengths_per_class"][name]  # only lengths of the shots
        assert coll.provenance["command"] == "generate" and coll.provenance["prior_weights_sha256"]
        assert set(coll.meta("condition")) == {"wave", "kick", "squat"}
        assert coll.attrs["fewshot"] == manifest["fewshot"]  # the shots it was adapted on travel with the clips
        assert coll.attrs["guidance"] == 1.5  # an adapted model's default, recorded as resolved


def test_gif_shows_a_real_shot_beside_a_generated_clip_of_every_class(pipeline, tmp_path):
    out = _gen(pipeline, "--per-class", "1", "--collection", "g-gif", "--out", str(tmp_path / "g.gif"))
    store = MotionStore(pipeline["store"])
    with store.collection("g-gif") as coll:
        clips, titles = real_beside_generated(coll, store)
        shots = set(coll.attrs["fewshot"]["sample_ids"])
    assert titles == [f"{name} ({kind})" for name in ("wave", "kick", "squat") for kind in ("real", "generated")]
    with store.collection("demo") as real:  # each real panel is a shot of its class, never a test clip
        for clip, title in zip(clips[0::2], titles[0::2]):
            matches = [i for i in range(len(real)) if str(real.sample_ids[i]) in shots
                       and real.class_names[int(real.labels[i])] == title.split(" (")[0]
                       and real.frames(i).shape == clip.shape and np.array_equal(real.frames(i), clip)]
            assert matches, title
    from PIL import Image

    with Image.open(out["gif"]) as gif:
        assert gif.n_frames > 1 and gif.size[0] == 4 * 220  # two pairs per row


def test_same_clips_whatever_the_batch_size_shards_or_processes(pipeline):
    ids, whole = _frames(pipeline["store"], "g-main")
    for i in range(3):
        _gen(pipeline, "--per-class", "4", "--shard", f"{i}/3", "--collection", f"g-shard{i}", "--batch-size", str(i + 1))
    run_kinemic("store", "merge", "g-shard2", "g-shard0", "g-shard1", "--into", "g-merged", "--store", pipeline["store"])
    merged_ids, merged = _frames(pipeline["store"], "g-merged")
    assert merged_ids == ids
    for a, b in zip(whole, merged):
        np.testing.assert_array_equal(a, b)  # bit for bit


def test_oversample_counts_file_and_class_selection(pipeline, tmp_path):
    out = _gen(pipeline, "--oversample", "2", "--collection", "g-over")
    assert out["per_class"] == {"wave": 6, "kick": 6, "squat": 6}  # 2 x 3 shots
    counts = tmp_path / "counts.csv"
    counts.write_text("class,count\nkick,2\nsquat,1\n")
    out = _gen(pipeline, "--counts", str(counts), "--collection", "g-counts")
    assert out["per_class"] == {"kick": 2, "squat": 1}
    out = _gen(pipeline, "--per-class", "2", "--classes", "squat", "--text", "a person jumps", "--collection", "g-compose")
    assert out["per_class"] == {"squat": 2}
    proc = run_kinemic("generate", "--model", str(pipeline["adapted"]), "--per-class", "1", "--classes", "dance",
                       "--store", pipeline["store"], check=False)
    assert proc.returncode == 1 and "not an adapted class" in proc.stderr


def test_from_shots_starts_each_clip_from_the_shot_its_length_came_from():
    """The first denoiser call of a --from-shots clip sees the shot named by its plan (the
    class's shots sorted by length) noised to the start step with the clip's own first draw."""
    import torch
    from adapt_support import tiny_prior

    from kinemic_cli.generate.plan import plan_generation
    from kinemic_cli.generate.sampler import DiffusionClipSampler, SamplingOptions
    from kinemic_cli.prior.diffusion import ClipNoise

    prior = tiny_prior(lambda texts: np.zeros((len(texts), 384), np.float32))
    rng = np.random.default_rng(0)
    shots = {7: [rng.normal(size=(n, prior.features.dim)).astype(np.float32) for n in (12, 12, 20)]}
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x, t, **kw):
            seen.append((x.clone(), int(t[0])))
            return torch.zeros_like(x)

    sampler = DiffusionClipSampler(Spy(), prior, options=SamplingOptions(guidance=1.0, from_shots=0.5), skeleton=prior.skeleton,
                                   fps=prior.fps, class_names=["a"] * 8, label_to_class={7: 0},
                                   class_text=[np.zeros((1, 384), np.float32)], compute_rows=1, shot_features=shots)
    plan = plan_generation(counts={7: 6}, lengths_per_class={7: [12, 12, 20]}, seed=3)
    for item in plan:
        seen.clear()
        sampler.sample_features([item])
        t0 = seen[0][1]
        expected = prior.add_noise(torch.from_numpy(shots[7][item.shot])[None], torch.tensor([t0]),
                                   ClipNoise([item.seed], (item.length, prior.features.dim)).draw())
        assert t0 == 24 and len(seen) == 25 and len(shots[7][item.shot]) == item.length
        torch.testing.assert_close(seen[0][0], expected)


def test_from_shots_is_recorded_and_checked(pipeline):
    out = _gen(pipeline, "--per-class", "1", "--from-shots", "0.5", "--collection", "g-shots")
    assert out["clips"] == 3
    with MotionStore(pipeline["store"]).collection("g-shots") as coll:
        assert coll.attrs["from_shots"] == 0.5
    proc = run_kinemic("generate", "--model", str(pipeline["adapted"]), "--per-class", "1", "--from-shots", "0",
                       "--store", pipeline["store"], check=False)
    assert proc.returncode == 1 and "--from-shots must be in (0, 1]" in proc.stderr


def test_shot_guidance_and_guidance_interval_are_recorded_and_checked(pipeline):
    """Through the CLI: the options reach the collection's attributes, and bad values are refused."""
    out = _gen(pipeline, "--per-class", "2", "--shot-guidance", "1", "--guidance-above", "0.5",
               "--shot-guidance-above", "0.2", "--collection", "g-sg")
    assert out["clips"] == 6
    with MotionStore(pipeline["store"]).collection("g-sg") as coll:
        assert coll.attrs["shot_guidance"] == 1.0 and coll.attrs["guidance_above"] == 0.5
        assert coll.attrs["shot_guidance_above"] == 0.2
    for flags, message in ((("--shot-guidance", "1.5"), "--shot-guidance must be in [0, 1]"),
                           (("--guidance-above", "1"), "--guidance-above must be in [0, 1)"),
                           (("--shot-guidance", "0.5", "--shot-guidance-above", "1"), "--shot-guidance-above must be in [0, 1)"),
                           (("--shot-guidance-above", "0.3"), "--shot-guidance-above needs --shot-guidance")):
        proc = run_kinemic("generate", "--model", str(pipeline["adapted"]), "--per-class", "1", *flags,
                           "--store", pipeline["store"], check=False)
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr


def test_smooth_low_passes_each_generated_clip_and_is_recorded(pipeline):
    """`--smooth S`: every stored clip is the unsmoothed clip of the same seed, low-passed by a
    Gaussian of S * fps frames; the setting is recorded, and a bad value is one line."""
    from kinemic_cli.generate.sampler import smooth_joints

    _gen(pipeline, "--per-class", "2", "--collection", "g-rough")
    _gen(pipeline, "--per-class", "2", "--smooth", "0.1", "--collection", "g-smooth")
    with MotionStore(pipeline["store"]).collection("g-smooth") as coll:
        assert coll.attrs["smooth"] == 0.1
        fps = coll.fps
    rough_ids, rough = _frames(pipeline["store"], "g-rough")
    smooth_ids, smooth = _frames(pipeline["store"], "g-smooth")
    assert rough_ids == smooth_ids
    for a, b in zip(rough, smooth):
        expected = smooth_joints(a[:, 0, :, :3], 0.1 * fps)
        np.testing.assert_allclose(b[:, 0, :, :3], expected, atol=2e-6)
        assert np.abs(np.diff(b[:, 0, :, :3], axis=0)).mean() < np.abs(np.diff(a[:, 0, :, :3], axis=0)).mean()
    proc = run_kinemic("generate", "--model", str(pipeline["adapted"]), "--per-class", "1", "--smooth", "2",
                       "--store", pipeline["store"], check=False)
    assert proc.returncode == 1 and "--smooth must be in [0, 1]" in proc.stderr, proc.stderr


def test_smooth_joints_keeps_a_still_pose_and_damps_jitter():
    from kinemic_cli.generate.sampler import smooth_joints

    rng = np.random.default_rng(0)
    still = np.broadcast_to(rng.normal(size=(1, 22, 3)), (40, 22, 3)).astype(np.float32)
    np.testing.assert_allclose(smooth_joints(still, 1.0), still, atol=1e-6)
    assert smooth_joints(still, 1.0).dtype == np.float32 and smooth_joints(still, 0.0) is still
    jitter = still + 0.01 * rng.normal(size=still.shape).astype(np.float32)
    # white noise through a Gaussian of sigma 1 frame keeps 1 / sqrt(2 sqrt(pi)) of its std (0.53)
    kept = (smooth_joints(jitter, 1.0) - still)[5:-5].std() / (jitter - still)[5:-5].std()
    assert 0.45 < kept < 0.62, kept


def test_kill_9_then_resume_equals_an_uninterrupted_run(pipeline):
    args = ("--per-class", "30", "--batch-size", "3", "--commit-every", "6")
    _gen(pipeline, *args, "--collection", "g-whole")
    partial = MotionStore(pipeline["store"]).data_dir / "g-killed.partial"
    proc = subprocess.Popen([KINEMIC, "generate", "--model", str(pipeline["adapted"]), *FAST, *args, "--collection",
                             "g-killed", "--store", pipeline["store"], "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(partial.glob("part-*.h5"))) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = MotionStore(pipeline["store"])
    if proc.returncode == -signal.SIGKILL and "g-killed" not in store.list():
        assert "g-killed" in store.incomplete()  # invisible until complete
        done = len(list(partial.glob("part-*.h5")))
        out = _gen(pipeline, *args, "--collection", "g-killed", "--resume")
        assert done >= 2 and out["clips"] == 90
    ids, whole = _frames(pipeline["store"], "g-whole")
    killed_ids, killed = _frames(pipeline["store"], "g-killed")
    assert killed_ids == ids
    for a, b in zip(whole, killed):
        np.testing.assert_array_equal(a, b)


def test_counts_file_formats(tmp_path):
    (tmp_path / "c.yaml").write_text("wave: 3\nkick: 0\n")
    assert read_counts_file(tmp_path / "c.yaml") == {"wave": 3, "kick": 0}
    (tmp_path / "c.csv").write_text("wave,x\n")
    with pytest.raises(KinemicError, match="not an integer"):
        read_counts_file(tmp_path / "c.csv")
