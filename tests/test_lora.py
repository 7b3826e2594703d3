"""LoRA over a frozen prior: no-op when fresh, switchable, base bit-identical, gradients only where intended."""

import torch
from adapt_support import cosine_add_noise, tiny_denoiser

from kinemic_cli.adapt.losses import AdaptBatch, AdaptObjective, LossSwitches
from kinemic_cli.models.lora import DEFAULT_LORA_TARGETS, attach_lora, freeze, prior_pass
from kinemic_cli.models.mic import EmbeddingMemoryBank, MICModule


def _inputs(b=3, n=7, f=66):
    g = torch.Generator().manual_seed(0)
    return torch.randn(b, n, f, generator=g), torch.randint(0, 50, (b,), generator=g), torch.randn(b, 384, generator=g)


def test_fresh_adapters_are_a_no_op_and_switch_off_exactly():
    torch.manual_seed(0)
    model = tiny_denoiser(66).eval()
    x, t, text = _inputs()
    before = model(x, t, text=text)
    lora = attach_lora(model)
    assert torch.equal(model(x, t, text=text), before)
    assert any(n.startswith("time_mlp") for n in lora.target_names) and "layers.1.attn.qkv" in lora.target_names
    assert "text_proj" not in lora.target_names
    with torch.no_grad():
        for adapter in lora.adapters.values():
            adapter.lora_b.normal_()
    assert not torch.allclose(model(x, t, text=text), before)
    with prior_pass(model, lora):
        assert torch.equal(model(x, t, text=text), before)
    assert set(model.state_dict()) == set(tiny_denoiser(66).state_dict())  # base keys untouched


def test_prior_pass_is_eval_no_grad_and_restores_train_mode():
    model = tiny_denoiser(66).train()
    lora = attach_lora(model)
    x, t, text = _inputs()
    with prior_pass(model, lora):
        assert not model.training and not model.layers[0].drop1.training
        out = model(x, t, text=text)
        assert not out.requires_grad and not lora.enabled
    assert model.training and model.layers[0].drop1.training and lora.enabled


def test_kinemic_step_keeps_base_bit_identical_and_grads_only_intended_tensors():
    torch.manual_seed(0)
    model = tiny_denoiser(66)
    base = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("action_embed")}
    model.reset_action_embedding(3)
    freeze(model)
    lora = attach_lora(model, targets=DEFAULT_LORA_TARGETS)
    for p in model.action_embed.parameters():
        p.requires_grad_(True)
    mic = MICModule(model.latent_dim, hidden=8, embed_dim=8)
    objective = AdaptObjective(model, add_noise=cosine_add_noise(50), num_timesteps=50, switches=LossSwitches(),
                               lora=lora, mic=mic, memory_bank=EmbeddingMemoryBank(60, 8))
    g = torch.Generator().manual_seed(1)
    batch = AdaptBatch(target=torch.randn(4, 9, 66, generator=g), target_mask=torch.ones(4, 9, dtype=torch.bool),
                       labels=torch.tensor([0, 1, 2, 0]), class_text=torch.randn(4, 384, generator=g),
                       source=torch.randn(4, 15, 66, generator=g), source_mask=torch.arange(15)[None] < torch.tensor([[15], [6], [15], [11]]),
                       source_text=torch.randn(4, 384, generator=g))
    params = [p for m in (model, lora, mic) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2)
    for _ in range(3):
        terms = objective(batch)
        opt.zero_grad()
        terms["total"].backward()
        with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
        assert with_grad == {"action_embed.weight"}
        assert all(p.grad is not None for p in lora.parameters())
        assert all(p.grad is not None for n, p in mic.named_parameters()), "MIC must learn from L_con"
        opt.step()
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in base.items())
    assert not torch.equal(next(iter(lora.adapters.values())).lora_b, torch.zeros_like(next(iter(lora.adapters.values())).lora_b))
