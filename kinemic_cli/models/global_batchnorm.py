"""BatchNorm whose training statistics are those of the global batch, on any backend.

Under DDP each process sees ``B / N`` clips; plain BatchNorm would normalise with that
slice's statistics, so the numbers would depend on ``N`` (and an 8-GPU run of batch 32
would normalise over 4 clips).  :class:`GlobalBatchNorm` combines every process's per-channel
count, mean and sum of squared deviations (Chan's parallel formula, stable where
``E[x^2] - E[x]^2`` is not) through an autograd-aware all-gather, so forward and backward
are those of one BatchNorm over the whole global batch.

Why not ``torch.nn.SyncBatchNorm``: it refuses CPU tensors, and the CPU (gloo) is where
the tests run; this one module runs the same on gloo and nccl.  Parameter and buffer
names are BatchNorm's, so a trained model's ``state_dict`` loads into the plain model.
In eval mode, or outside torchrun, it is exactly BatchNorm.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..runtime.distributed import DistContext, all_gather_autograd

__all__ = ["GlobalBatchNorm", "convert_to_global_batchnorm"]


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm over inputs ``[N, C, ...]`` with statistics over all processes' batches."""

    def __init__(self, num_features: int, *, ctx: DistContext, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.ctx = ctx

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.ctx.distributed):
            return super().forward(x)
        self._check_input_dim(x)
        channels = x.shape[1]
        dims = [0, *range(2, x.dim())]
        shape = [1, channels] + [1] * (x.dim() - 2)
        count = x.new_full((1,), x.numel() // max(channels, 1))
        mean = x.mean(dims)
        m2 = ((x - mean.view(shape)) ** 2).sum(dims)
        stats = torch.stack(all_gather_autograd(torch.cat([mean, m2, count]), self.ctx))  # [N, 2C + 1]
        counts = stats[:, -1:]
        total = counts.sum()
        global_mean = (stats[:, :channels] * counts).sum(0) / total
        global_m2 = (stats[:, channels:2 * channels] + counts * (stats[:, :channels] - global_mean) ** 2).sum(0)
        variance = global_m2 / total
        if self.track_running_stats:
            self._update_running_stats(global_mean.detach(), (global_m2 / (total - 1).clamp(min=1)).detach())
        y = (x - global_mean.view(shape)) * torch.rsqrt(variance + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased_var, alpha=factor)


def convert_to_global_batchnorm(module: nn.Module, ctx: DistContext) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d in ``module`` (in place) by a :class:`GlobalBatchNorm` with its state."""
    for name, child in list(module.named_children()):
        if isinstance(child, _BatchNorm) and not isinstance(child, GlobalBatchNorm):
            replacement = GlobalBatchNorm(child.num_features, ctx=ctx, eps=child.eps, momentum=child.momentum,
                                          affine=child.affine, track_running_stats=child.track_running_stats)
            replacement.load_state_dict(child.state_dict())
            replacement.to(next(child.buffers(), torch.empty(0)).device)
            replacement.train(child.training)
            setattr(module, name, replacement)
        else:
            convert_to_global_batchnorm(child, ctx)
    return module
