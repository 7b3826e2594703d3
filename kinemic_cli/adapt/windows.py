"""Window mining and dynamic window weighting (DESIGN section 4, steps 5 and 6), batched.

A mined source clip is usually longer than the few-shot target clip and only part of it
shows the target action.  The MIC attention over the source (from the frozen prior's
latents) says where: the window of the target clip's length with the largest summed
attention is cut out, shifted to frame 0 and used as an extra, class-relevant training
example for the student.  How much that example counts is decided per sample by how
close the student's embedding of the window is to its embedding of the real target clip.

Everything here works on whole batches with per-sample lengths (no Python loop over the
batch) and returns per-sample masks, never one mask broadcast across the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import KinemicError

__all__ = ["best_attention_windows", "cut_windows", "dynamic_window_weights"]


@torch.no_grad()
def best_attention_windows(attention: torch.Tensor, source_lengths: torch.Tensor,
                           window_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Start frame and length of the highest-attention window of each source clip.

    ``attention [B, S]`` (padded frames ignored), ``source_lengths [B]`` real frames of each
    source, ``window_lengths [B]`` wanted window length (the target clip's length).  A
    source shorter than its target gives the whole source (start 0, length = source
    length).  Ties go to the earliest window.  Returns ``(starts [B], lengths [B])``.
    """
    if attention.ndim != 2:
        raise KinemicError(f"attention must be [B, S], got shape {tuple(attention.shape)}")
    batch, frames = attention.shape
    source_lengths = source_lengths.to(attention.device).long().clamp(1, frames)
    lengths = torch.minimum(window_lengths.to(attention.device).long(), source_lengths).clamp(min=1)
    cumulative = F.pad(attention.detach().float().cumsum(dim=1), (1, 0))  # [B, S + 1]
    starts = torch.arange(frames, device=attention.device).expand(batch, frames)  # [B, S]
    ends = starts + lengths[:, None]
    valid = ends <= source_lengths[:, None]
    sums = cumulative.gather(1, ends.clamp(max=frames)) - cumulative.gather(1, starts)
    sums = sums.masked_fill(~valid, float("-inf"))
    return sums.argmax(dim=1), lengths


def cut_windows(source: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor,
                total: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut ``source [B, S, F]`` at ``starts [B]`` for ``lengths [B]`` frames, shifted to frame 0.

    Returns ``(windows [B, total, F], mask [B, total])``; frames past a sample's window
    length are zero and masked out (False), so a source shorter than its target leaves
    the rest of the target length masked.
    """
    batch, frames, _ = source.shape
    offsets = torch.arange(total, device=source.device)
    mask = offsets[None, :] < lengths.to(source.device)[:, None]  # [B, total]
    index = (starts.to(source.device)[:, None] + offsets[None, :]).clamp(max=frames - 1)
    windows = source.gather(1, index[..., None].expand(-1, -1, source.shape[2]))
    return windows * mask[..., None].to(source.dtype), mask


@torch.no_grad()
def dynamic_window_weights(target_embeddings: torch.Tensor, window_embeddings: torch.Tensor, *,
                           threshold: float = -1.0) -> torch.Tensor:
    """Per-sample window weight in [0, 1] from ``cos(z_target, z_window)``, without gradient.

    ``w = clamp((cos - threshold) / (1 - threshold), 0, 1)``.  ``threshold = -1`` is the
    paper's ``(1 + cos) / 2``, which still gives 0.5 to an unrelated window (cos 0); a
    threshold of 0 gives it 0 and keeps only windows the student already finds alike.
    """
    cos = F.cosine_similarity(target_embeddings.detach(), window_embeddings.detach(), dim=-1)
    return ((cos - threshold) / (1.0 - threshold)).clamp(0.0, 1.0)
