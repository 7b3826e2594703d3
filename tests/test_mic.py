"""MIC module: masked attention, contrastive loss, temperature clamp, FIFO memory bank."""

import math

import torch

from kinemic_cli.models.mic import EmbeddingMemoryBank, MICModule, soft_nearest_neighbour_loss


def test_attention_is_zero_on_padding_and_padding_does_not_change_outputs():
    torch.manual_seed(0)
    mic = MICModule(16, hidden=8, embed_dim=6).eval()
    x = torch.randn(2, 10, 16)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 6:] = False
    z, a = mic(x, mask)
    assert torch.allclose(a.sum(1), torch.ones(2)) and a[1, 6:].abs().sum() == 0
    assert torch.allclose(z.norm(dim=1), torch.ones(2))
    z_alone, a_alone = mic(x[1:2, :6], mask[1:2, :6])
    x2 = x.clone()
    x2[1, 6:] = 1e3  # garbage in the padding must not leak in
    z2, _ = mic(x2, mask)
    assert torch.allclose(z2[1], z_alone[0], atol=1e-5) and torch.allclose(a[1, :6], a_alone[0], atol=1e-5)


def test_the_two_one_way_grus_are_the_packed_bidirectional_gru():
    """Same maths as nn.GRU(bidirectional=True) over packed sequences, on every real frame."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    mic = MICModule(8, hidden=5, embed_dim=4).double()
    reference = torch.nn.GRU(8, 5, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(reference, name).copy_(getattr(mic.gru_forward, name))
            getattr(reference, name + "_reverse").copy_(getattr(mic.gru_backward, name))
    x = torch.randn(3, 9, 8, dtype=torch.float64)
    lengths = torch.tensor([9, 4, 1])
    mask = torch.arange(9)[None] < lengths[:, None]
    packed = pack_padded_sequence(mic.norm(x), lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=9)
    captured = {}
    mic.score.register_forward_hook(lambda module, args, out: captured.update(states=args[0]))
    mic(x, mask)
    torch.testing.assert_close(captured["states"][mask], expected[mask], rtol=0, atol=1e-12)


def test_temperature_starts_at_007_and_scale_is_clamped():
    mic = MICModule(4, hidden=4, embed_dim=4)
    assert math.isclose(float(mic.scale.detach()), 1 / 0.07, rel_tol=1e-5)
    with torch.no_grad():
        mic.log_temperature.fill_(math.log(1e-4))
    assert float(mic.scale.detach()) == 100.0
    with torch.no_grad():
        mic.log_temperature.fill_(math.log(10.0))
    assert float(mic.scale.detach()) == 1.0


def test_soft_nearest_neighbour_loss_prefers_same_class_and_skips_anchors_without_positives():
    e = torch.eye(4)
    labels = torch.tensor([0, 1])
    good = soft_nearest_neighbour_loss(e[:2], labels, e[:2], labels, torch.tensor(10.0))
    bad = soft_nearest_neighbour_loss(e[:2], labels, e[:2], labels.flip(0), torch.tensor(10.0))
    assert good < 0.01 < bad
    only_first = soft_nearest_neighbour_loss(e[:2], torch.tensor([0, 7]), e[:2], labels, torch.tensor(10.0))
    assert torch.isclose(only_first, soft_nearest_neighbour_loss(e[:1], labels[:1], e[:2], labels, torch.tensor(10.0)))


def test_contrastive_loss_decreases_when_training_mic():
    torch.manual_seed(1)
    mic = MICModule(8, hidden=8, embed_dim=8)
    labels = torch.arange(4).repeat(2)
    latents = torch.randn(8, 12, 8) + labels[:, None, None].float()
    mask = torch.ones(8, 12, dtype=torch.bool)
    opt = torch.optim.AdamW(mic.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        z, _ = mic(latents, mask)
        loss = soft_nearest_neighbour_loss(z[:4], labels[:4], z[4:], labels[4:], mic.scale)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.5 * losses[0]


def test_memory_bank_keeps_exactly_the_last_n():
    bank = EmbeddingMemoryBank(5, 2)
    for step in range(4):
        bank.push(torch.full((2, 2), float(step)), torch.tensor([step, step + 10]))
    assert len(bank) == 5
    assert bank.labels.tolist() == [11, 2, 12, 3, 13]
    assert bank.embeddings[:, 0].tolist() == [1, 2, 2, 3, 3]
    bank.push(torch.zeros(7, 2), torch.arange(7))
    assert bank.labels.tolist() == [2, 3, 4, 5, 6]
    z = torch.ones(3, 2, requires_grad=True)
    cand, lab = bank.with_batch(z, torch.tensor([9, 9, 9]))
    assert cand.shape == (8, 2) and lab[:3].tolist() == [9, 9, 9] and cand.requires_grad
    restored = EmbeddingMemoryBank(5, 2)
    restored.load_state(bank.state())
    assert torch.equal(restored.embeddings, bank.embeddings) and torch.equal(restored.labels, bank.labels)
    assert not bank.embeddings.requires_grad


def test_every_parameter_gets_a_real_gradient():
    """No parameter the outputs cannot see: its gradient would be pure rounding noise, which
    Adam scales up to lr-sized steps, so runs that differ only in summation order (1 vs 2
    processes) would drift apart on it (a bias on the last scoring layer was one: softmax over
    frames ignores a constant added to every logit)."""
    torch.manual_seed(0)
    mic = MICModule(8, hidden=6, embed_dim=4)
    x = torch.randn(3, 7, 8, dtype=torch.float64)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[2, 4:] = False
    mic = mic.double()
    z, a = mic(x, mask)
    (z * torch.randn_like(z)).sum().add((a * torch.randn_like(a)).sum()).backward()
    for name, p in mic.named_parameters():
        if name == "log_temperature":  # used by the loss, not by forward()
            continue
        assert p.grad is not None and float(p.grad.abs().max()) > 1e-6, name
