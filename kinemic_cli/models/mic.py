"""MIC ("mining in context"): which frames of a motion matter, and a contrastive embedding.

KineMIC needs two things from the denoiser's last-layer latents: an embedding ``z`` to pull
a few-shot target clip toward the source motions mined for its class, and a per-frame
attention ``a`` that says where, inside a long source clip, the class-relevant motion is
(window mining uses it).  One module gives both: a bidirectional GRU reads the latents,
a scoring layer turns each frame's state into an attention logit (padding masked out),
and the attention-weighted sum of states, projected and L2-normalised, is ``z``.

The bidirectional GRU is run as two one-way GRUs over the padded batch: the forward one
reads frames in order (padding comes after the real frames, so it cannot reach them), the
backward one reads each clip reversed *within its own length* and its states are reversed
back.  That is exactly the packed-sequence computation of ``nn.GRU(bidirectional=True)``
on the real frames (tested), without packing: PyTorch's packed path cuts the batch at
every time step and its backward pass copies a zero-filled gradient per cut, which made
the GRU the costliest part of a KineMIC step on a CPU.

The contrastive term is a soft-nearest-neighbour loss with a learnable temperature
(initialised at 0.07, the scale ``1/temperature`` clamped to [1, 100] as in CLIP), whose
candidates are the current batch's source embeddings plus a FIFO memory bank of the last
``N`` detached ones (with their class ids), so small few-shot batches still see many
positives and negatives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import KinemicError

__all__ = ["MICModule", "EmbeddingMemoryBank", "soft_nearest_neighbour_loss", "reverse_within_lengths"]


class MICModule(nn.Module):
    """Attention-pooled bidirectional GRU over latents ``[B, T, D]`` (padding at the end).

    ``forward(latents, mask)`` returns ``(z [B, E], attention [B, T])``: ``z`` has unit
    norm, ``attention`` sums to 1 over the real frames of each sample and is exactly 0 on
    padded frames (``mask [B, T]`` bool, True = real frame).
    """

    def __init__(self, latent_dim: int, *, hidden: int = 128, embed_dim: int = 128,
                 temperature: float = 0.07):
        super().__init__()
        self.config = {"latent_dim": int(latent_dim), "hidden": int(hidden), "embed_dim": int(embed_dim),
                       "temperature": float(temperature)}
        self.norm = nn.LayerNorm(latent_dim)
        self.gru_forward = nn.GRU(latent_dim, hidden, batch_first=True)
        self.gru_backward = nn.GRU(latent_dim, hidden, batch_first=True)
        # No bias on the last scoring layer: a softmax over frames is blind to a constant added
        # to every logit, so that bias would get an exactly-zero gradient, and Adam turns the
        # rounding noise left in it into lr-sized random steps (runs differing only in float
        # summation order, e.g. on 1 and 2 processes, then disagree on it by ~lr per step).
        self.score = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False))
        self.project = nn.Linear(2 * hidden, embed_dim)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature)))

    @property
    def scale(self) -> torch.Tensor:
        """``1 / temperature``, clamped to [1, 100]."""
        return torch.exp(-self.log_temperature).clamp(1.0, 100.0)

    def forward(self, latents: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if latents.ndim != 3 or mask.shape != latents.shape[:2]:
            raise KinemicError(f"MIC expects latents [B, T, D] and mask [B, T], got {tuple(latents.shape)} and "
                               f"{tuple(mask.shape)}")
        lengths = mask.sum(dim=1)
        if bool((lengths < 1).any()):
            raise KinemicError("MIC got a sample with no real frame")
        x = self.norm(latents)
        forward, _ = self.gru_forward(x)
        flip = reverse_within_lengths(lengths, latents.shape[1])
        backward, _ = self.gru_backward(_gather_frames(x, flip))
        states = torch.cat([forward, _gather_frames(backward, flip)], dim=-1)  # [B, T, 2H]
        logits = self.score(states).squeeze(-1).masked_fill(~mask, float("-inf"))
        attention = torch.softmax(logits, dim=1)  # padded frames get exactly 0
        pooled = torch.einsum("bt,bth->bh", attention, states)
        return F.normalize(self.project(pooled), dim=-1), attention


def reverse_within_lengths(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """``[B, T]`` frame indices that reverse each clip's first ``lengths[b]`` frames and keep its padding in place.

    Applying it twice gives the identity, so the same index undoes it.
    """
    t = torch.arange(total, device=lengths.device)[None, :]
    last = lengths.long()[:, None] - 1
    return torch.where(t <= last, last - t, t)


def _gather_frames(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(1, index[..., None].expand(-1, -1, x.shape[-1]))


def soft_nearest_neighbour_loss(anchors: torch.Tensor, anchor_labels: torch.Tensor, candidates: torch.Tensor,
                                candidate_labels: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean over anchors of ``-log(sum_pos exp(s * cos) / sum_all exp(s * cos))``.

    ``anchors [B, E]`` and ``candidates [N, E]`` are unit vectors; a candidate is a
    positive of an anchor when their class ids agree.  Anchors without any positive among
    the candidates are left out of the mean (the result is 0 when none has one).
    """
    logits = scale * anchors @ candidates.t()  # [B, N]
    positive = anchor_labels[:, None] == candidate_labels[None, :]
    has_positive = positive.any(dim=1)
    if not bool(has_positive.any()):
        return anchors.sum() * 0.0
    log_all = torch.logsumexp(logits, dim=1)
    log_pos = torch.logsumexp(logits.masked_fill(~positive, float("-inf")), dim=1)
    return (log_all - log_pos)[has_positive].mean()


class EmbeddingMemoryBank:
    """FIFO of the last ``capacity`` detached embeddings ``[N, E]`` and their class ids ``[N]``.

    Oldest first; :meth:`push` appends a batch and drops the oldest beyond capacity.
    :meth:`state` / :meth:`load_state` make it part of a resumable checkpoint.
    """

    def __init__(self, capacity: int, dim: int):
        if capacity < 0:
            raise KinemicError(f"--memory-bank must be 0 or more, got {capacity}")
        self.capacity, self.dim = int(capacity), int(dim)
        self.embeddings = torch.zeros(0, dim)
        self.labels = torch.zeros(0, dtype=torch.long)

    def __len__(self) -> int:
        return int(self.labels.numel())

    def push(self, embeddings: torch.Tensor, labels: torch.Tensor) -> None:
        if self.capacity == 0:
            return
        device = embeddings.device
        self.embeddings = torch.cat([self.embeddings.to(device), embeddings.detach()])[-self.capacity:]
        self.labels = torch.cat([self.labels.to(device), labels.detach().long()])[-self.capacity:]

    def with_batch(self, embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Candidates for the contrastive loss: the current batch (with grad) + the bank."""
        device = embeddings.device
        return (torch.cat([embeddings, self.embeddings.to(device)]),
                torch.cat([labels.long(), self.labels.to(device)]))

    def state(self) -> dict:
        return {"capacity": self.capacity, "embeddings": self.embeddings.cpu(), "labels": self.labels.cpu()}

    def load_state(self, state: dict) -> None:
        if int(state["capacity"]) != self.capacity:
            raise KinemicError(f"memory bank size {self.capacity} differs from the checkpoint's {state['capacity']}")
        self.embeddings = state["embeddings"].clone()
        self.labels = state["labels"].clone().long()
