"""One adaptation step's losses, for KineMIC and its two baselines (DESIGN section 4, steps 2-7).

:class:`AdaptObjective` owns nothing but the wiring: a denoiser that can act both as the
student (adapters on) and as the frozen prior (:func:`~kinemic_cli.models.lora.prior_pass`:
adapters off, eval mode, no grad; one copy of the weights), the MIC module and its memory
bank, and the diffusion schedule's ``add_noise``.  It returns the loss terms as a dict of
named tensors, so the training loop only sums, logs and steps.  It is an ``nn.Module``
holding every trainable module, so DistributedDataParallel can wrap the whole step.

Under torchrun (``ctx``) each process holds rows ``rank::world_size`` of the global batch:
the timestep, noise and condition drops are drawn for the global batch from the shared
``generator`` and sliced, and the contrastive candidates are the source embeddings of the
WHOLE global batch, gathered in global order with an autograd-aware all-gather (each
process's loss sends gradient to the rows other processes computed), then the memory bank
(the same on every process, because every process pushes the same gathered rows).  Each
anchor has at least one positive (its own mined source), so the mean of the per-process
means is the global mean and DDP's gradient average is the gradient of the global loss.

Per step, for a batch of target clips ``x [B, T, F]`` each paired with a mined source clip
``s [B, S, F]`` (features normalised with the prior's normaliser):

1. one timestep ``t [B]`` and one noise tensor ``eps [B, max(T, S), F]`` serve the target,
   the source and the window (``eps[:, :T]`` / ``eps[:, :S]``);
2. the frozen prior, conditioned on the source caption, gives source latents;
3. the student denoises ``x_t`` under the target conditioning (class caption + action),
   text and action each dropped with probability ``cfg_drop`` (the same drop for the
   target and its window) -> ``L_rec``;
4. MIC embeds target (student latents) and source (prior latents) -> ``L_con`` against
   the batch + memory bank;
5. the best-attention source window, shifted to frame 0 and noised with the target's
   noise, is denoised by the student under the target conditioning -> per-sample
   ``L_win``, weighted by ``w = (1 + cos(z_target, z_window)) / 2`` (no grad) unless
   ``dww`` is off.  The window term does not depend on the contrastive switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..models.lora import LoRAAdapters, prior_pass
from ..models.mic import EmbeddingMemoryBank, MICModule, soft_nearest_neighbour_loss
from ..prior.losses import VelocityTerm, masked_mse_per_sample, snr_step_weights
from ..runtime.distributed import DistContext, gather_rows
from .windows import best_attention_windows, cut_windows, dynamic_window_weights

__all__ = ["AdaptBatch", "LossSwitches", "AdaptObjective", "snr_step_weights", "shot_feature_weights"]

AddNoise = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class AdaptBatch:
    """Tensors of one step (padding at the end, masks True on real frames).

    ``target [B, T, F]``, ``target_mask [B, T]``, ``labels [B]`` long, ``class_text [B, E]``;
    for KineMIC also ``source [B, S, F]``, ``source_mask [B, S]``, ``source_text [B, E]``.
    """

    target: torch.Tensor
    target_mask: torch.Tensor
    labels: torch.Tensor
    class_text: torch.Tensor
    source: torch.Tensor | None = None
    source_mask: torch.Tensor | None = None
    source_text: torch.Tensor | None = None
    source_weight: torch.Tensor | None = None  # [B] 0 for a window the kinematic gate rejected

    def to(self, device: torch.device) -> "AdaptBatch":
        return AdaptBatch(**{k: (None if v is None else v.to(device)) for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class LossSwitches:
    """Which terms are on and how much each counts (paper: all on, weights 1, 1, 1).

    Every field is also an :class:`~kinemic_cli.adapt.config.AdaptConfig` option of the same
    name, from which the run builds it by name.
    """

    contrastive: bool = True
    window: bool = True
    dww: bool = True
    lambda_rec: float = 1.0
    lambda_con: float = 1.0
    lambda_win: float = 1.0
    cfg_drop: float = 0.1
    lambda_vel: float = 0.0
    window_threshold: float = -1.0  # -1: the paper's (1 + cos) / 2; higher: an unrelated window gets 0
    snr_weight_cap: float = 0.0  # 0: every step counts alike (the paper); G >= 1: weight clamp(SNR(t), 1, G)


def shot_feature_weights(features: list[np.ndarray]) -> torch.Tensor:
    """``[F]`` loss weight of each feature: ``1 / max(1, mean z^2 over the shots' frames)``.

    The features are normalised with the prior's corpus statistics; a feature the corpus
    hardly moves but the target does gets a huge normalised range and swamps the squared
    error.  On the demo world the sideways root velocity (0.07 cm/frame of spread in demo-t2m,
    0.35-1.2 cm/frame in the target's shots) has a mean z^2 of 23-274 per class and made 41 %
    of the student's reconstruction error: the adaptation's gradient went into the root jitter
    of ten clips instead of their poses.  Dividing each such feature by its own spread on the
    shots measures its error in the target's units; features inside the corpus's range keep
    weight 1, so the loss is unchanged where the two domains agree.
    """
    frames = np.concatenate([np.asarray(f, np.float64) for f in features])
    return torch.from_numpy(1.0 / np.maximum(1.0, (frames ** 2).mean(0))).float()


def _twice(batch: AdaptBatch) -> AdaptBatch:
    """The target conditioning for the target rows and, again, for their windows."""
    return AdaptBatch(target=batch.target, target_mask=batch.target_mask, labels=torch.cat([batch.labels, batch.labels]),
                      class_text=torch.cat([batch.class_text, batch.class_text]))


class AdaptObjective(nn.Module):
    """Loss terms of one step; ``mining=False`` gives the finetune / LoRA baselines (L_rec only).

    ``generator``: the CPU ``torch.Generator`` the step's diffusion draws come from (the
    default generator when None); ``ctx``: the process group (None: one process).
    """

    def __init__(self, model: nn.Module, *, add_noise: AddNoise, num_timesteps: int, switches: LossSwitches,
                 lora: LoRAAdapters | None = None, mic: MICModule | None = None,
                 memory_bank: EmbeddingMemoryBank | None = None, mining: bool = True,
                 generator: torch.Generator | None = None, ctx: DistContext | None = None,
                 velocity: VelocityTerm | None = None, snr: torch.Tensor | None = None,
                 feature_weight: torch.Tensor | None = None):
        super().__init__()
        if mining and (mic is None or memory_bank is None):
            raise ValueError("KineMIC needs a MIC module and a memory bank")
        self.model, self.lora, self.mic, self.bank = model, lora, mic, memory_bank
        self.add_noise, self.num_timesteps = add_noise, int(num_timesteps)
        self.switches, self.mining = switches, mining
        self.generator, self.ctx = generator, ctx
        self.velocity = velocity or VelocityTerm(None, None)
        if switches.snr_weight_cap and snr is None:
            raise ValueError("--snr-weight-cap needs the schedule's SNR per step")
        self.register_buffer("step_weight", None if not switches.snr_weight_cap
                             else snr_step_weights(snr, switches.snr_weight_cap), persistent=False)
        # per-feature weights of the squared errors (None: all 1, the paper); applied as sqrt on both sides
        self.register_buffer("feature_scale", None if feature_weight is None else feature_weight.sqrt(),
                             persistent=False)

    def _draws(self, local: int, frames: int, feats: int, device: torch.device):
        """Timesteps, noise and keep flags for the global batch, sliced to this process's rows."""
        world, rank = (self.ctx.world_size, self.ctx.rank) if self.ctx is not None else (1, 0)
        total, rows, g = local * world, slice(rank, None, world), self.generator
        t = torch.randint(0, self.num_timesteps, (total,), generator=g)[rows]
        noise = torch.randn(total, frames, feats, generator=g)[rows]
        text_keep = (torch.rand(total, generator=g) >= self.switches.cfg_drop)[rows]
        action_keep = (torch.rand(total, generator=g) >= self.switches.cfg_drop)[rows]
        return t.to(device), noise.to(device), text_keep.to(device), action_keep.to(device)

    def _global(self, local: torch.Tensor) -> torch.Tensor:
        return local if self.ctx is None else gather_rows(local, self.ctx)

    def _per_step(self, per_sample: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Per-sample losses weighted by their step's weight (unchanged when the weighting is off)."""
        if self.step_weight is None:
            return per_sample
        return per_sample * self.step_weight.to(per_sample.device, per_sample.dtype)[t]

    def _mse(self, prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-sample masked MSE, each feature's squared error times its weight when there are weights."""
        if self.feature_scale is not None:
            scale = self.feature_scale.to(prediction.device, prediction.dtype)
            prediction, target = prediction * scale, target * scale
        return masked_mse_per_sample(prediction, target, mask)

    def _reconstruction_terms(self, x0_hat, x, mask, t, sw: LossSwitches) -> dict[str, torch.Tensor]:
        rec = self._per_step(self._mse(x0_hat, x, mask), t).mean()
        vel = self.velocity(x0_hat, x, mask)
        zero = rec.new_zeros(())
        terms = {"rec": rec, "vel": vel, "con": zero, "win": zero, "window_weight": zero}
        if not self.mining:
            terms["total"] = sw.lambda_rec * rec + sw.lambda_vel * vel
        return terms

    def _student(self, x_t, t, batch: AdaptBatch, mask, text_keep, action_keep):
        return self.model(x_t, t, text=batch.class_text, action=batch.labels, mask=mask,
                          text_keep=text_keep, action_keep=action_keep, return_latents=True)

    def forward(self, batch: AdaptBatch) -> dict[str, torch.Tensor]:
        sw = self.switches
        x, mask = batch.target, batch.target_mask
        bsz, frames, feats = x.shape
        source_frames = batch.source.shape[1] if self.mining else 0
        t, noise, text_keep, action_keep = self._draws(bsz, max(frames, source_frames), feats, x.device)
        x_t = self.add_noise(x, t, noise[:, :frames])
        if not self.mining:
            x0_hat, _ = self._student(x_t, t, batch, mask, text_keep, action_keep)
            return self._reconstruction_terms(x0_hat, x, mask, t, sw)

        # the frozen prior reads the source first: its attention says which window the student also denoises
        with prior_pass(self.model, self.lora):
            s_t = self.add_noise(batch.source, t, noise[:, :source_frames])
            _, source_latents = self.model(s_t, t, text=batch.source_text, action=None, mask=batch.source_mask,
                                           return_latents=True)
        z_source, source_attention = self.mic(source_latents, batch.source_mask)
        if sw.window:
            starts, lengths = best_attention_windows(source_attention, batch.source_mask.sum(1), mask.sum(1))
            window, window_mask = cut_windows(batch.source, starts, lengths, frames)
            w_t = self.add_noise(window, t, noise[:, :frames])
            # target and window through the student in ONE pass (same conditioning, same drops): the same
            # maths as two passes, with twice the rows per matrix product
            both_hat, both_latents = self._student(torch.cat([x_t, w_t]), torch.cat([t, t]), _twice(batch),
                                                   torch.cat([mask, window_mask]), torch.cat([text_keep, text_keep]),
                                                   torch.cat([action_keep, action_keep]))
            x0_hat, w0_hat = both_hat[:bsz], both_hat[bsz:]
            target_latents, window_latents = both_latents[:bsz], both_latents[bsz:]
        else:
            x0_hat, target_latents = self._student(x_t, t, batch, mask, text_keep, action_keep)
        terms = self._reconstruction_terms(x0_hat, x, mask, t, sw)
        z_target, _ = self.mic(target_latents, mask)

        if sw.contrastive:
            source_labels = batch.labels
            if batch.source_weight is not None:  # a rejected window is nobody's positive
                source_labels = torch.where(batch.source_weight > 0, batch.labels, torch.full_like(batch.labels, -1))
            z_all, labels_all = self._global(z_source), self._global(source_labels)
            candidates, candidate_labels = self.bank.with_batch(z_all, labels_all)
            terms["con"] = soft_nearest_neighbour_loss(z_target, batch.labels, candidates, candidate_labels,
                                                       self.mic.scale)
            self.bank.push(z_all, labels_all)

        if sw.window:
            per_sample = self._per_step(self._mse(w0_hat, window, window_mask), t)
            if sw.dww:
                with torch.no_grad():
                    z_window, _ = self.mic(window_latents.detach(), window_mask)
                weight = dynamic_window_weights(z_target, z_window, threshold=sw.window_threshold)
            else:
                weight = torch.ones_like(per_sample)
            if batch.source_weight is not None:
                weight = weight * batch.source_weight.to(weight.dtype)
            terms["win"] = (weight * per_sample).mean()
            terms["window_weight"] = weight.mean()
        terms["total"] = (sw.lambda_rec * terms["rec"] + sw.lambda_vel * terms["vel"] + sw.lambda_con * terms["con"]
                          + sw.lambda_win * terms["win"])
        return terms
