"""Window mining picks the known best window, per sample, including sources shorter than targets."""

import torch

from kinemic_cli.adapt.windows import best_attention_windows, cut_windows, dynamic_window_weights


def test_best_window_for_constructed_attention_profiles():
    attention = torch.zeros(3, 12)
    attention[0, 5:9] = 1.0            # block of 4 at 5..8, window length 4 -> start 5
    attention[1, 0:3] = 0.2
    attention[1, 8:11] = 0.3           # window 3 -> start 8 (sum 0.9 > 0.6)
    attention[1, 11] = 5.0             # past this sample's real length: must be ignored
    attention[2, :5] = 0.2             # source of 5 frames, target of 9: whole source
    starts, lengths = best_attention_windows(attention, torch.tensor([12, 11, 5]), torch.tensor([4, 3, 9]))
    assert starts.tolist() == [5, 8, 0]
    assert lengths.tolist() == [4, 3, 5]


def test_ties_go_to_the_earliest_window_and_brute_force_agrees():
    gen = torch.Generator().manual_seed(0)
    attention = torch.rand(16, 30, generator=gen)
    source_lengths = torch.randint(5, 31, (16,), generator=gen)
    window_lengths = torch.randint(1, 40, (16,), generator=gen)
    starts, lengths = best_attention_windows(attention, source_lengths, window_lengths)
    for b in range(16):
        s_len, w = int(source_lengths[b]), min(int(window_lengths[b]), int(source_lengths[b]))
        sums = [float(attention[b, s:s + w].sum()) for s in range(s_len - w + 1)]
        assert int(lengths[b]) == w
        assert abs(sums[int(starts[b])] - max(sums)) < 1e-5
    flat = torch.ones(1, 10)
    assert best_attention_windows(flat, torch.tensor([10]), torch.tensor([3]))[0].item() == 0


def test_cut_windows_shifts_to_frame_zero_with_a_per_sample_mask():
    source = torch.arange(2 * 10, dtype=torch.float32).reshape(2, 10, 1).repeat(1, 1, 2)
    windows, mask = cut_windows(source, torch.tensor([3, 0]), torch.tensor([4, 2]), total=6)
    assert windows.shape == (2, 6, 2)
    assert mask.tolist() == [[True] * 4 + [False] * 2, [True] * 2 + [False] * 4]
    assert windows[0, :4, 0].tolist() == [3, 4, 5, 6]
    assert windows[1, :2, 0].tolist() == [10, 11]
    assert windows[0, 4:].abs().sum() == 0 and windows[1, 2:].abs().sum() == 0


def test_dynamic_window_weights_range_and_no_grad():
    z = torch.nn.functional.normalize(torch.randn(4, 8, requires_grad=True), dim=-1)
    w = dynamic_window_weights(z, torch.cat([z[:2], -z[2:3], z[3:4] * 0 + torch.eye(8)[0]]))
    assert not w.requires_grad
    assert torch.allclose(w[:2], torch.ones(2)) and torch.allclose(w[2], torch.zeros(()), atol=1e-6)
    assert 0.0 <= float(w[3]) <= 1.0
