"""Options of an adaptation run, their per-preset defaults, and checks done before any work.

Defaults follow the paper (AdamW lr 2e-5, weight decay 1e-5, gradient clip 1.0, batch =
all shots up to 30, 10,000 steps, top-k 250, memory bank 60, LoRA rank 16 / alpha 32 /
dropout 0.1, loss weights 1/1/1) on the ``paper`` preset.  The learning rate and step
count depend on the prior's preset (the adapter is trained on top of it), because the
paper's tiny lr over 10k steps is out of reach on a CPU:

=======  =======  ======  ======================================================
preset   lr       steps   why
=======  =======  ======  ======================================================
tiny     1e-3     60      tests and smoke runs: the loss must visibly move in seconds
small    2e-4     1500    CPU runs of minutes; measured with bench/adapt_bench.py
paper    2e-5     10000   the paper's configuration (GPU)
=======  =======  ======  ======================================================

Any of them can be overridden with ``--lr`` / ``--max-steps``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..errors import KinemicError
from ..runtime.precision import check_precision

__all__ = ["METHODS", "PRESET_TRAINING", "AdaptConfig", "resolve_adapt_config", "RESUME_FREE_KEYS",
           "RESUME_ABSENT_MEANS"]

METHODS = ("kinemic", "finetune", "lora")
PRESET_TRAINING: dict[str, dict[str, float]] = {
    "tiny": {"lr": 1e-3, "max_steps": 60},
    "small": {"lr": 2e-4, "max_steps": 1500},
    "paper": {"lr": 2e-5, "max_steps": 10_000},
}
# options that may differ between a run and its --resume (everything else must match)
RESUME_FREE_KEYS = {"max_steps", "resume", "json_output", "device", "show_mining", "checkpoint_every", "out"}
# options added after runs were started, and what a run whose config lacks them was trained with
RESUME_ABSENT_MEANS = {"pace_match": False, "kinematic_rerank": 0, "action_lr_mult": 1.0, "augment_shots": 0,
                       "snr_weight_cap": 0.0, "feature_balance": False,
                       "action_every_frame": False}


@dataclass
class AdaptConfig:
    """Everything that decides the numbers of a run (saved as ``config.json``)."""

    dataset: str
    prior: str
    out: str | None = None
    collection: str | None = None
    source: str | None = None
    store: str | None = None
    shots: int = 10
    fewshot_seed: int = 42
    seed: int = 0
    method: str = "kinemic"
    protocol: str | None = None
    top_k: int = 250
    memory_bank: int = 60
    contrastive: bool = True
    window: bool = True
    dww: bool = True
    lambda_rec: float = 1.0
    lambda_con: float = 1.0
    lambda_win: float = 1.0
    lambda_vel: float = 0.0
    snr_weight_cap: float = 0.0
    feature_balance: bool = False
    kinematic_gate: float = 0.0
    pace_match: bool = True
    kinematic_rerank: int = 2000
    window_threshold: float = -1.0
    cfg_drop: float = 0.1
    lr: float | None = None
    action_lr_mult: float = 1.0
    action_every_frame: bool = False
    augment_shots: int = 0
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    batch_size: int = 30
    max_steps: int | None = None
    checkpoint_every: int = 250
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.1
    mic_hidden: int = 128
    mic_embed: int = 128
    class_captions: str | None = None
    caption_template: str = "a person {name}"
    device: str = "cpu"
    precision: str = "fp32"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_adapt_config(config: AdaptConfig, *, preset: str) -> AdaptConfig:
    """Check the config and fill lr / max_steps from the prior's preset where unset (a new object)."""
    config = replace(config)
    if config.method not in METHODS:
        raise KinemicError(f"--method must be one of {', '.join(METHODS)}, got {config.method!r}")
    defaults = PRESET_TRAINING.get(preset, PRESET_TRAINING["small"])
    if config.lr is None:
        config.lr = float(defaults["lr"])
    if config.max_steps is None:
        config.max_steps = int(defaults["max_steps"])
    check_precision(config.precision)
    checks = [
        (config.shots >= 1, f"--shots must be at least 1, got {config.shots}"),
        (config.top_k >= 1, f"--top-k must be at least 1, got {config.top_k}"),
        (config.memory_bank >= 0, f"--memory-bank must be 0 or more, got {config.memory_bank}"),
        (config.batch_size >= 1, f"--batch-size must be at least 1, got {config.batch_size}"),
        (config.max_steps >= 1, f"--max-steps must be at least 1, got {config.max_steps}"),
        (config.lr > 0, f"--lr must be positive, got {config.lr}"),
        (config.augment_shots >= 0, f"--augment-shots must be 0 or more, got {config.augment_shots}"),
        (config.action_lr_mult > 0, f"--action-lr-mult must be positive, got {config.action_lr_mult}"),
        (config.snr_weight_cap == 0 or config.snr_weight_cap >= 1,
         f"--snr-weight-cap must be 0 (off) or at least 1, got {config.snr_weight_cap}"),
        (0.0 <= config.cfg_drop < 1.0, f"--cfg-drop must be in [0, 1), got {config.cfg_drop}"),
        (config.checkpoint_every >= 1, f"--checkpoint-every must be at least 1, got {config.checkpoint_every}"),
        (min(config.lambda_rec, config.lambda_con, config.lambda_win, config.lambda_vel) >= 0,
         "loss weights must not be negative"),
        ("{name}" in config.caption_template, "--caption-template must contain {name}"),
        (config.kinematic_rerank == 0 or config.kinematic_rerank >= config.top_k,
         f"--kinematic-rerank must be 0 or at least --top-k ({config.top_k}), got {config.kinematic_rerank}"),
        (0.0 <= config.kinematic_gate < 1.0, f"--kinematic-gate must be in [0, 1), got {config.kinematic_gate}"),
        (-1.0 <= config.window_threshold < 1.0, f"--window-threshold must be in [-1, 1), got {config.window_threshold}"),
    ]
    for ok, message in checks:
        if not ok:
            raise KinemicError(message)
    return config
