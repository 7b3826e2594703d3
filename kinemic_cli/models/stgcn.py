"""ST-GCN (Yan et al., 2018) over any skeleton's bone graph, as a small registry of variants.

Layout everywhere: input ``x`` is ``(N, M, T, V, C)`` = (batch, persons, frames, joints,
channels).  Inside the network the persons are folded into the batch, ``(N*M, C, T, V)``,
and pooled back at the end (mean over persons), so 1- and 2-person data share the weights.

The backbone is the usual 10 blocks (64, 64, 64, 64, 128s2, 128, 128, 256s2, 256, 256; the
first without residual), each a spatial graph convolution over the three partitions of
:class:`~kinemic_cli.models.graph.SkeletonGraph` (with a learnable edge-importance mask) followed
by a 9x1 temporal convolution, BN-ReLU, and a residual path.  ``width`` scales every
channel count so the same design runs on a laptop CPU (``stgcn-small`` = 0.5,
``stgcn-tiny`` = 0.25).

timm-style contract: :meth:`STGCN.forward_features` gives pooled features ``(N, D)`` (the
evaluator's FID space), :meth:`STGCN.forward_head` maps them to logits ``(N, classes)``,
:meth:`STGCN.reset_classifier` swaps the head.  Variants are built by name with
:func:`create_stgcn`; :attr:`STGCN.config` round-trips through JSON next to the weights.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..errors import KinemicError
from ..skeletons import Skeleton
from .graph import SkeletonGraph

__all__ = ["STGCN", "create_stgcn", "list_stgcn_variants", "register_stgcn", "stgcn_from_config", "BLOCK_LAYOUT"]

# (output channels at width 1.0, temporal stride) of the 10 blocks
BLOCK_LAYOUT: tuple[tuple[int, int], ...] = (
    (64, 1), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1), (256, 1),
)


class GraphConv(nn.Module):
    """Spatial graph convolution: ``(B, C_in, T, V) -> (B, C_out, T, V)`` over ``K`` partitions."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor):
        super().__init__()
        self.partitions = adjacency.shape[0]
        self.register_buffer("adjacency", adjacency.clone())
        self.edge_importance = nn.Parameter(torch.ones_like(adjacency))
        self.conv = nn.Conv2d(in_channels, out_channels * self.partitions, kernel_size=1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, v = x.shape
        y = self.conv(x).view(b, self.partitions, self.out_channels, t, v)
        y = torch.einsum("bkctv,kvw->bctw", y, self.adjacency * self.edge_importance)
        return self.bn(y)


class TemporalConv(nn.Module):
    """``(B, C_in, T, V) -> (B, C_out, T / stride, V)``: a ``k x 1`` convolution and BN."""

    def __init__(self, in_channels: int, out_channels: int, *, kernel: int = 9, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel, 1), stride=(stride, 1), padding=((kernel - 1) // 2, 0))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class STGCNBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, adjacency: torch.Tensor, *, stride: int, residual: bool,
                 dropout: float = 0.0):
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, adjacency)
        self.tcn = TemporalConv(out_channels, out_channels, stride=stride)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        if not residual:
            self.residual: Callable = lambda x: 0
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConv(in_channels, out_channels, kernel=1, stride=stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.residual(x)
        y = self.relu(self.gcn(x))
        y = self.drop(self.tcn(y))
        return self.relu(y + res)


class STGCN(nn.Module):
    """ST-GCN recogniser; ``forward(x[N, M, T, V, C]) -> logits[N, classes]``."""

    def __init__(self, *, skeleton: Skeleton, num_classes: int, in_channels: int = 3, width: float = 1.0,
                 persons: int = 1, dropout: float = 0.0, head_dropout: float = 0.0, variant: str = "stgcn"):
        super().__init__()
        if num_classes < 1:
            raise KinemicError(f"ST-GCN needs at least one class, got {num_classes}")
        if width <= 0:
            raise KinemicError(f"ST-GCN width must be positive, got {width}")
        self.skeleton = skeleton
        self.config = {
            "variant": variant, "skeleton": skeleton.to_dict(), "num_classes": int(num_classes),
            "in_channels": int(in_channels), "width": float(width), "persons": int(persons),
            "dropout": float(dropout), "head_dropout": float(head_dropout),
        }
        adjacency = SkeletonGraph(skeleton).tensor()
        v = skeleton.num_joints
        self.data_bn = nn.BatchNorm1d(in_channels * v)
        blocks, channels = [], in_channels
        for i, (base, stride) in enumerate(BLOCK_LAYOUT):
            out = max(4, int(round(base * width)))
            blocks.append(STGCNBlock(channels, out, adjacency, stride=stride, residual=i > 0, dropout=dropout))
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.num_features = channels
        self.head_drop = nn.Dropout(head_dropout) if head_dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, M, T, V, C) -> (N, D)``: features pooled over time, joints and persons."""
        if x.dim() != 5:
            raise KinemicError(f"ST-GCN expects (N, M, T, V, C) input, got shape {tuple(x.shape)}")
        n, m, t, v, c = x.shape
        # data BN normalises each (joint, channel) pair; persons share the statistics
        y = x.permute(0, 1, 3, 4, 2).reshape(n * m, v * c, t)
        y = self.data_bn(y).view(n * m, v, c, t).permute(0, 2, 3, 1).contiguous()  # (N*M, C, T, V)
        for block in self.blocks:
            y = block(y)
        return y.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, D) -> (N, classes)``."""
        return self.fc(self.head_drop(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head by a fresh one for ``num_classes`` classes."""
        self.fc = nn.Linear(self.num_features, num_classes)
        self.config["num_classes"] = int(num_classes)


_VARIANTS: dict[str, Callable[..., STGCN]] = {}


def register_stgcn(fn: Callable[..., STGCN]) -> Callable[..., STGCN]:
    """Register a variant factory under its function name with ``_`` spelled ``-``."""
    _VARIANTS[fn.__name__.replace("_", "-")] = fn
    return fn


@register_stgcn
def stgcn(**kwargs) -> STGCN:
    """Full width (the paper's 64-128-256 channels)."""
    return STGCN(width=kwargs.pop("width", 1.0), variant="stgcn", **kwargs)


@register_stgcn
def stgcn_small(**kwargs) -> STGCN:
    """Half width (32-64-128): the CPU default, ~4x cheaper than full width."""
    return STGCN(width=kwargs.pop("width", 0.5), variant="stgcn-small", **kwargs)


@register_stgcn
def stgcn_tiny(**kwargs) -> STGCN:
    """Quarter width (16-32-64): tests and quick looks."""
    return STGCN(width=kwargs.pop("width", 0.25), variant="stgcn-tiny", **kwargs)


def list_stgcn_variants() -> list[str]:
    return sorted(_VARIANTS)


def create_stgcn(name: str, **kwargs) -> STGCN:
    """Build a registered variant: ``create_stgcn("stgcn-small", skeleton=..., num_classes=14)``."""
    try:
        factory = _VARIANTS[name]
    except KeyError:
        raise KinemicError(f"--model {name!r}: unknown ST-GCN variant; known: {', '.join(list_stgcn_variants())}") from None
    return factory(**kwargs)


def stgcn_from_config(config: dict) -> STGCN:
    """Rebuild a model from :attr:`STGCN.config` (as saved next to its weights)."""
    cfg = dict(config)
    skeleton = Skeleton.from_dict(cfg.pop("skeleton"), source="ST-GCN config")
    return create_stgcn(cfg.pop("variant"), skeleton=skeleton, **cfg)
