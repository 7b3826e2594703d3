"""Low-rank adapters (LoRA) attached to a frozen model without copying or renaming its weights.

Why hooks instead of swapping ``nn.Linear`` for a wrapper class: the base model keeps its
exact module tree and ``state_dict`` keys (so the prior's own save/load code keeps working
on it), there is exactly one copy of the base weights in memory, and switching the
adapters off turns the very same module back into the pretrained prior.  KineMIC needs
that switch on every step: the student pass runs with adapters on, the frozen-prior pass
(under :func:`prior_pass`) with adapters off, in eval mode and without gradients.

Each adapted ``nn.Linear`` ``y = W x + b`` becomes ``y = W x + b + (alpha / r) * B A drop(x)``
with ``A [r, in]`` (Kaiming-uniform) and ``B [out, r]`` (zeros), so a fresh adapter
leaves the model's output unchanged.
"""

from __future__ import annotations

import fnmatch
import math
from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
from torch import nn

from ..errors import KinemicError

__all__ = [
    "DEFAULT_LORA_TARGETS",
    "LoRAAdapter",
    "LoRAAdapters",
    "attach_lora",
    "prior_pass",
    "freeze",
    "trainable_parameter_count",
]

# Module-name patterns (fnmatch; a pattern also matches every Linear below that module):
# attention qkv/out, feed-forward, input/output projections and the timestep MLP.
DEFAULT_LORA_TARGETS: tuple[str, ...] = (
    "input_proj",
    "output_proj",
    "time_mlp",
    "layers.*.attn.qkv",
    "layers.*.attn.out",
    "layers.*.ff1",
    "layers.*.ff2",
)


class LoRAAdapter(nn.Module):
    """The low-rank update of one Linear: ``delta(x) = scale * (drop(x) @ A^T) @ B^T``."""

    def __init__(self, in_features: int, out_features: int, *, rank: int, alpha: float, dropout: float):
        super().__init__()
        if rank < 1:
            raise KinemicError(f"LoRA rank must be at least 1, got {rank}")
        self.rank, self.alpha = int(rank), float(alpha)
        self.scaling = self.alpha / self.rank
        self.lora_a = nn.Parameter(torch.empty(rank, in_features))
        self.lora_b = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.dropout(x) @ self.lora_a.t()) @ self.lora_b.t() * self.scaling


class LoRAAdapters(nn.Module):
    """All adapters of one model, keyed by the adapted module's name ('.' -> '__').

    ``enabled`` is the single switch the forward hooks read; :meth:`disabled` flips it for
    a block of code.  The adapters are a separate module (not registered inside the base
    model), so ``base.state_dict()`` stays exactly the prior's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adapters = nn.ModuleDict()
        self.enabled = True
        self._handles: list = []
        self.target_names: list[str] = []

    @contextmanager
    def disabled(self) -> Iterator[None]:
        previous = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = previous

    def detach_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, key: str):
        def add_delta(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            if not self.enabled:
                return output
            return output + self.adapters[key](inputs[0])
        return add_delta


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + ".*") for p in patterns)


def attach_lora(model: nn.Module, *, targets: Sequence[str] = DEFAULT_LORA_TARGETS, rank: int = 16,
                alpha: float = 32.0, dropout: float = 0.1) -> LoRAAdapters:
    """Attach adapters to every ``nn.Linear`` of ``model`` whose name matches ``targets``.

    The base weights are not touched (freeze them with :func:`freeze`).  Every pattern must
    match at least one Linear, so a renamed submodule fails loudly instead of silently
    training fewer tensors than intended.
    """
    linears = {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    lora = LoRAAdapters()
    for pattern in targets:
        if not any(_matches(name, [pattern]) for name in linears):
            raise KinemicError(f"LoRA target {pattern!r} matches no Linear layer of {type(model).__name__}")
    for name, linear in linears.items():
        if not _matches(name, targets):
            continue
        key = name.replace(".", "__")
        lora.adapters[key] = LoRAAdapter(linear.in_features, linear.out_features, rank=rank, alpha=alpha,
                                         dropout=dropout).to(linear.weight.device)
        lora._handles.append(linear.register_forward_hook(lora._hook(key)))
        lora.target_names.append(name)
    return lora


def freeze(module: nn.Module) -> None:
    """Make every parameter of ``module`` non-trainable."""
    for p in module.parameters():
        p.requires_grad_(False)


@contextmanager
def prior_pass(model: nn.Module, lora: LoRAAdapters | None) -> Iterator[None]:
    """Run ``model`` as the frozen pretrained prior: adapters off, eval mode, no autograd.

    The training/eval flags of every submodule are restored afterwards, so the student
    pass that follows is back in train mode (the authors' release left the prior in train
    mode, i.e. with dropout on, which this avoids).
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            if lora is None:
                yield
            else:
                with lora.disabled():
                    yield
    finally:
        for m, was_training in modes.items():
            m.training = was_training


def trainable_parameter_count(*modules: nn.Module) -> int:
    seen: set[int] = set()
    total = 0
    for module in modules:
        for p in module.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return total
