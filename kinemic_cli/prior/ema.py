"""Exponential moving average of a model's weights (what a diffusion prior is sampled with).

Diffusion models sample markedly better from averaged weights than from the last step's;
MDM ships its averaged copy as ``model_avg``.  The decay ramps up as ``(1 + n) / (10 + n)``
so short CPU runs are not dominated by the random initialisation.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["WeightAverage"]


class WeightAverage:
    """Shadow copies of every floating-point tensor of ``model``'s state dict."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = float(decay)
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for key, value in model.state_dict().items():
            if key in self.shadow:
                self.shadow[key].mul_(decay).add_(value.detach(), alpha=1 - decay)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.updates = float(state["decay"]), int(state["updates"])
        for key, value in state["shadow"].items():
            self.shadow[key].copy_(value)

    def averaged_state(self, model: nn.Module) -> dict:
        """``model``'s state dict with the averaged tensors in place of the current ones."""
        return {k: (self.shadow[k].clone() if k in self.shadow else v) for k, v in model.state_dict().items()}
