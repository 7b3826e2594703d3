"""The MDM-style denoiser: presets, masking, conditioning switches, the LoRA contract."""

from __future__ import annotations

import pytest
import torch

from kinemic_cli.errors import KinemicError
from kinemic_cli.models.denoiser import PRESETS, create_denoiser
from kinemic_cli.models.lora import attach_lora


def _inputs(b=3, n=12, f=67, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, n, f, generator=g), torch.randint(0, 50, (b,), generator=g), torch.randn(b, 384, generator=g)


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_presets_forward_backward_and_latents(preset):
    model = create_denoiser(preset, features=67, text_dim=384)
    x, t, text = _inputs()
    out, latents = model(x, t, text=text, return_latents=True)
    assert out.shape == x.shape and latents.shape == (3, 12, PRESETS[preset]["latent_dim"])
    out.square().mean().backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if not n.startswith("action_embed"))


def test_paper_preset_is_the_paper_size():
    model = create_denoiser("paper", features=263, text_dim=512)
    cfg = model.config
    assert (cfg.latent_dim, cfg.layers, cfg.heads, cfg.ff_dim, cfg.dropout) == (512, 8, 4, 1024, 0.1)


def test_padding_does_not_change_real_frames():
    model = create_denoiser("tiny", features=67, text_dim=384).eval()
    x, t, text = _inputs(b=2, n=10)
    short = model(x[:, :6], t, text=text)
    padded = x.clone()
    padded[:, 6:] = 100.0  # garbage in the padding
    mask = torch.arange(10)[None].expand(2, 10) < 6
    out = model(padded, t, text=text, mask=mask)
    torch.testing.assert_close(out[:, :6], short, atol=1e-5, rtol=1e-5)


def test_dropping_conditions_and_a_fresh_action_table():
    torch.manual_seed(0)
    model = create_denoiser("tiny", features=67, text_dim=384).eval()
    x, t, text = _inputs()
    with_text = model(x, t, text=text)
    dropped = model(x, t, text=text, text_keep=torch.tensor([False, True, False]))
    assert torch.equal(dropped[1], with_text[1]) and not torch.allclose(dropped[0], with_text[0])
    # MDM's convention: a dropped text is a zero embedding *before* the projection
    torch.testing.assert_close(dropped[0], model(x[:1], t[:1], text=torch.zeros(1, 384))[0])
    model.reset_action_embedding(5)
    assert model.action_embed.num_embeddings == 6 and model.config.num_actions == 5
    # a fresh action table is zero: the student starts as the text-conditioned prior
    torch.testing.assert_close(model(x, t, text=text, action=torch.tensor([0, 4, 2])), with_text)
    with torch.no_grad():
        model.action_embed.weight[:5].normal_()
    acted = model(x, t, text=text, action=torch.tensor([0, 4, 2]), action_keep=torch.tensor([True, False, True]))
    assert torch.equal(acted[1], with_text[1]) and not torch.allclose(acted[0], with_text[0])


def test_lora_targets_exist_and_unknown_presets_are_listed():
    model = create_denoiser("tiny", features=67, text_dim=384)
    lora = attach_lora(model)
    assert {"input_proj", "output_proj", "time_mlp.0", "time_mlp.2", "layers.0.attn.qkv", "layers.1.ff2"} <= set(
        lora.target_names)
    with pytest.raises(KinemicError, match="known: tiny, small, paper"):
        create_denoiser("huge", features=67, text_dim=384)


def test_x0_skip_hands_back_a_clean_input_and_survives_save_and_load(tmp_path):
    """`pretrain --x0-skip`: x0 = sqrt(a_t) x_t + sqrt(1 - a_t) F; at t = 0 the input passes almost unchanged."""
    import numpy as np

    from kinemic_cli.motion.features import RootRelativeFeatures
    from kinemic_cli.motion.normaliser import Normaliser
    from kinemic_cli.prior.bundle import Prior, load_prior, save_prior
    from kinemic_cli.prior.diffusion import CosineSchedule
    from kinemic_cli.skeletons import SMPL22

    torch.manual_seed(0)
    space = RootRelativeFeatures(SMPL22)
    model = create_denoiser("tiny", features=space.dim, text_dim=384, x0_skip=True).eval()
    x, text = torch.randn(2, 9, space.dim), torch.randn(2, 384)
    with pytest.raises(KinemicError, match="use_schedule"):
        model(x, torch.tensor([0, 49]), text=text)
    schedule = CosineSchedule(50)
    model.use_schedule(schedule.alphas_cumprod)
    plain = create_denoiser("tiny", features=space.dim, text_dim=384)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    t = torch.tensor([0, 49])
    with torch.no_grad():
        out, network = model(x, t, text=text), plain(x, t, text=text)
    a = schedule.alphas_cumprod.float()[t][:, None, None]
    assert torch.allclose(out, a.sqrt() * x + (1 - a).sqrt() * network, atol=1e-5)  # the formula, per sample
    assert (out[0] - x[0]).abs().max() < 0.1 * network[0].abs().max()  # t = 0: the input, nearly untouched

    prior = Prior(model=model, schedule=schedule, normaliser=Normaliser(np.zeros(space.dim, np.float32),
                  np.ones(space.dim, np.float32)), skeleton=SMPL22, features=space, text_encoder=None,
                  text_encoder_name="all-MiniLM-L6-v2", fps=20.0, max_frames=60, preset="tiny")
    save_prior(tmp_path / "prior", prior)
    loaded = load_prior(tmp_path / "prior", with_text_encoder=False)
    assert loaded.model.config.x0_skip
    with torch.no_grad():
        assert torch.allclose(loaded.model(x, t, text=text), out, atol=1e-6)


def test_action_every_frame_adds_the_action_row_to_each_frame_token():
    """``action_frames``: the same as a token-only model whose input projection's bias carries the
    action row; a zero (fresh) table or a dropped action changes nothing."""
    import copy

    torch.manual_seed(0)
    model = create_denoiser("tiny", features=12, text_dim=384).eval()
    model.reset_action_embedding(3)
    x, t = torch.randn(2, 7, 12), torch.tensor([5, 30])
    text, action = torch.randn(2, 384), torch.tensor([1, 1])
    token_only = model(x, t, text=text, action=action)
    model.config.action_frames = True
    assert torch.equal(model(x, t, text=text, action=action), token_only)  # fresh table: the prior's output
    with torch.no_grad():
        model.action_embed.weight[1] = torch.randn(model.latent_dim)
    reference = copy.deepcopy(model)
    reference.config.action_frames = False
    with torch.no_grad():
        reference.input_proj.bias += model.action_embed.weight[1]
    torch.testing.assert_close(model(x, t, text=text, action=action), reference(x, t, text=text, action=action))
    dropped = torch.tensor([False, False])
    plain = copy.deepcopy(model)
    plain.config.action_frames = False
    torch.testing.assert_close(model(x, t, text=text, action=action, action_keep=dropped),
                               plain(x, t, text=text, action=action, action_keep=dropped))
