"""MDM import: a state dict of random tensors in MDM's exact key names and shapes.

The imported denoiser must compute what MDM computes: the reference here is PyTorch's
own ``nn.TransformerEncoder`` in MDM's layout (sequence-first, post-norm, GELU), fed the
same random weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import run_kinemic
from text_support import make_clip_style_encoder
from torch import nn

from kinemic_cli.errors import KinemicError
from kinemic_cli.models.denoiser import sinusoid_table
from kinemic_cli.prior.bundle import load_prior
from kinemic_cli.prior.mdm_import import import_mdm, mdm_to_kinemic_state, read_mdm_state_dict

D, LAYERS, FF, FEATURES, CLIP = 512, 8, 1024, 263, 512


def mdm_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.randn(*shape, generator=g) * 0.05

    table = sinusoid_table(5000, D)[:, None, :]
    sd = {
        "input_process.poseEmbedding.weight": rand(D, FEATURES), "input_process.poseEmbedding.bias": rand(D),
        "sequence_pos_encoder.pe": table.clone(), "embed_timestep.sequence_pos_encoder.pe": table.clone(),
        "embed_timestep.time_embed.0.weight": rand(D, D), "embed_timestep.time_embed.0.bias": rand(D),
        "embed_timestep.time_embed.2.weight": rand(D, D), "embed_timestep.time_embed.2.bias": rand(D),
        "embed_text.weight": rand(D, CLIP), "embed_text.bias": rand(D),
        "output_process.poseFinal.weight": rand(FEATURES, D), "output_process.poseFinal.bias": rand(FEATURES),
    }
    for i in range(LAYERS):
        p = f"seqTransEncoder.layers.{i}."
        sd.update({
            p + "self_attn.in_proj_weight": rand(3 * D, D), p + "self_attn.in_proj_bias": rand(3 * D),
            p + "self_attn.out_proj.weight": rand(D, D), p + "self_attn.out_proj.bias": rand(D),
            p + "linear1.weight": rand(FF, D), p + "linear1.bias": rand(FF),
            p + "linear2.weight": rand(D, FF), p + "linear2.bias": rand(D),
            p + "norm1.weight": 1 + rand(D), p + "norm1.bias": rand(D),
            p + "norm2.weight": 1 + rand(D), p + "norm2.bias": rand(D),
        })
    return sd


def reference_mdm_forward(sd, x, t, text, mask):
    """MDM's computation with PyTorch's modules: x [B, T, 263] -> x0 [B, T, 263]."""
    layer = nn.TransformerEncoderLayer(D, 4, FF, dropout=0.1, activation="gelu")
    encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False).eval()
    encoder.load_state_dict({k.removeprefix("seqTransEncoder."): v for k, v in sd.items()
                             if k.startswith("seqTransEncoder.")})
    pe = sd["sequence_pos_encoder.pe"]  # [5000, 1, D]
    lin = nn.functional.linear
    temb = lin(nn.functional.silu(lin(pe[t][:, 0], sd["embed_timestep.time_embed.0.weight"],
                                      sd["embed_timestep.time_embed.0.bias"])),
               sd["embed_timestep.time_embed.2.weight"], sd["embed_timestep.time_embed.2.bias"])
    emb = temb + lin(text, sd["embed_text.weight"], sd["embed_text.bias"])  # [B, D]
    frames = lin(x, sd["input_process.poseEmbedding.weight"], sd["input_process.poseEmbedding.bias"]).permute(1, 0, 2)
    seq = torch.cat([emb[None], frames], 0)
    seq = seq + pe[: seq.shape[0]]
    padding = torch.cat([torch.zeros(x.shape[0], 1, dtype=torch.bool), ~mask], 1)
    out = encoder(seq, src_key_padding_mask=padding)[1:].permute(1, 0, 2)
    return lin(out, sd["output_process.poseFinal.weight"], sd["output_process.poseFinal.bias"])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mdm")
    sd = mdm_state_dict()
    path = folder / "model000750000.pt"
    torch.save({"model": sd, "model_avg": sd, "step": 750000}, path)
    stats = folder / "HumanML3D"
    stats.mkdir()
    np.save(stats / "Mean.npy", np.zeros(FEATURES, np.float32))
    np.save(stats / "Std.npy", np.ones(FEATURES, np.float32))
    clip = make_clip_style_encoder(folder)
    return path, stats, sd, clip


def test_imported_prior_computes_what_mdm_computes(checkpoint, tmp_path):
    path, stats, sd, clip = checkpoint
    out = tmp_path / "mdm-prior"
    result = import_mdm(path, out, stats_folder=stats, text_encoder=str(clip))
    assert result["layers"] == LAYERS and result["text_dim"] == CLIP
    bundle = load_prior(out)  # with its (512-d, CLIP-style) text encoder, offline from the folder
    assert bundle.features.name == "hml263" and bundle.text_encoder_name == str(clip)
    assert bundle.encode_text(["a person waves"]).shape == (1, CLIP)
    assert bundle.schedule.num_steps == 50 and bundle.max_frames == 196 and bundle.preset == "paper"
    g = torch.Generator().manual_seed(1)
    x, text = torch.randn(2, 30, FEATURES, generator=g), torch.randn(2, CLIP, generator=g)
    t = torch.tensor([3, 41])
    mask = torch.arange(30)[None] < torch.tensor([[30], [21]])
    with torch.no_grad():
        ours = bundle.model(x, t, text=text, mask=mask)
        reference = reference_mdm_forward(sd, x, t, text, mask)
    torch.testing.assert_close(ours[0], reference[0], atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(ours[1, :21], reference[1, :21], atol=2e-4, rtol=1e-4)
    assert result["uniform_skeleton"] is False and bundle.features.bone_lengths is None


def test_import_takes_humanml3ds_reference_body_from_its_joints(checkpoint, tmp_path):
    """With HumanML3D's processed joints beside Mean/Std, target clips are retargeted to its
    one body (as its vectors were): a clip of a 1.3x larger person gets the same features."""
    from datasets_plugins.demo import DemoT2MAdapter
    from kinemic_cli.plugins import PrepareRequest

    path, stats, _, clip = checkpoint
    folder = tmp_path / "HumanML3D"
    (folder / "new_joints").mkdir(parents=True)
    for name in ("Mean.npy", "Std.npy"):
        (folder / name).write_bytes((stats / name).read_bytes())
    demo = list(DemoT2MAdapter().open(PrepareRequest(limit=3)).items)
    body = demo[0].frames[:, 0]
    np.save(folder / "new_joints" / "000001.npy", body.reshape(len(body), 66))  # the release's flat layout
    result = import_mdm(path, tmp_path / "p", stats_folder=folder, text_encoder=str(clip))
    features = load_prior(tmp_path / "p", with_text_encoder=False).features
    assert result["uniform_skeleton"] is True and features.bone_lengths is not None
    other = demo[2].frames[:, 0]
    # float32 clips: the scaled copy rounds differently (6e-8 relative), which the shortest-arc
    # rotations of bones near their antiparallel rest direction amplify to ~1e-5 (measured 1.4e-5)
    np.testing.assert_allclose(features.from_joints(other * 1.3), features.from_joints(other), atol=1e-4)


def test_every_key_is_mapped_or_named(checkpoint):
    _, _, sd, _ = checkpoint
    extra = {**sd, "embed_action.action_embedding": torch.zeros(12, D)}
    with pytest.raises(KinemicError, match="embed_action.action_embedding"):
        mdm_to_kinemic_state(extra)
    missing = {k: v for k, v in sd.items() if k != "embed_text.bias"}
    with pytest.raises(KinemicError, match="embed_text.bias"):
        mdm_to_kinemic_state(missing)
    with_clip = {**sd, "clip_model.token_embedding.weight": torch.zeros(3, 3)}  # CLIP's own weights are ignored
    assert mdm_to_kinemic_state(with_clip)[0].layers == LAYERS


def test_wrong_shapes_and_code_in_the_file_are_refused(checkpoint, tmp_path):
    path, stats, sd, clip = checkpoint
    bad = dict(sd)
    bad["output_process.poseFinal.weight"] = torch.zeros(251, D)
    bad["output_process.poseFinal.bias"] = torch.zeros(251)
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(KinemicError, match="output_proj.weight has shape"):
        import_mdm(tmp_path / "bad.pt", tmp_path / "out", stats_folder=stats, text_encoder=str(clip))

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"model": Payload()}, tmp_path / "evil.pt", _use_new_zipfile_serialization=True)
    with pytest.raises(KinemicError, match="not a tensors-only"):
        read_mdm_state_dict(tmp_path / "evil.pt")


def test_cli_import_in_one_line(checkpoint, tmp_path):
    path, stats, _, clip = checkpoint
    proc = run_kinemic("pretrain", "--import-mdm", str(path), "--out", str(tmp_path / "p"), check=False)
    assert proc.returncode == 1 and "--mdm-stats" in proc.stderr
    proc = run_kinemic("pretrain", "--import-mdm", str(path), "--mdm-stats", str(stats), "--out", str(tmp_path / "p"),
                       "--text-encoder", str(clip), "--json")
    assert '"layers": 8' in proc.stdout and (tmp_path / "p" / "prior.json").exists()


def test_import_refusals_each_name_the_problem(checkpoint, tmp_path):
    path, stats, sd, clip = checkpoint
    folder = tmp_path / "ckpt"
    folder.mkdir()
    torch.save(sd, folder / "model.pt")
    proc = run_kinemic("pretrain", "--import-mdm", str(folder / "model.pt"), "--mdm-stats", str(stats), "--out",
                       str(tmp_path / "a"), "--text-encoder", "all-MiniLM-L6-v2", check=False)
    assert proc.returncode == 1 and "384-d" in proc.stderr and "512-d" in proc.stderr  # caught at import, not in adapt
    proc = run_kinemic("pretrain", "--import-mdm", str(folder / "model.pt"), "--mdm-stats", str(stats), "--out",
                       str(tmp_path / "b"), check=False)  # CLIP is not on this machine
    assert proc.returncode == 1 and "--text-encoder DIR" in proc.stderr and "clip-ViT-B-32" in proc.stderr
    for args, problem in (({"arch": "gru"}, "arch is 'gru'"), ({"layers": 12}, "layers is 12"),
                          ({"latent_dim": 256}, "latent_dim is 256"), ({"dataset": "kit"}, "dataset is 'kit'"),
                          ({"text_encoder_type": "bert"}, "text_encoder_type 'bert'")):
        (folder / "args.json").write_text(__import__("json").dumps(args))
        with pytest.raises(KinemicError, match=problem):
            import_mdm(folder / "model.pt", tmp_path / "c", stats_folder=stats, text_encoder=str(clip))
    (folder / "args.json").write_text('{"arch": "trans_enc", "layers": 8, "latent_dim": 512, "diffusion_steps": 1000}')
    import_mdm(folder / "model.pt", tmp_path / "d", stats_folder=stats, text_encoder=str(clip))
    assert load_prior(tmp_path / "d", with_text_encoder=False).schedule.num_steps == 1000  # read, not assumed
