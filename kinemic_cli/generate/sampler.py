"""Turning planned clips into joints: the diffusion side of ``kinemic generate``.

:class:`DiffusionClipSampler` implements :class:`kinemic_cli.generate.into_store.ClipSampler` for a
plain prior (text prompts) and for an adapted model (action classes, optionally combined
with a free-text prompt, the composition the KineMIC authors show).  Per batch of
equal-length planned clips it builds the conditioning, draws each clip's noise from its
own seed (:class:`~kinemic_cli.prior.diffusion.ClipNoise`), runs the sampler with classifier-free
guidance, and maps the result back to joints on the output skeleton and frame rate.

A clip's numbers depend only on its (seed, class, index): the caption a class clip is
conditioned on is chosen by its index, the noise by its seed, and batches hold clips of
one length, so nothing is padded in time.  On the CPU that is not yet enough for bit
equality: BLAS picks other kernels for other matrix shapes (a batch of 1 and a batch of 8
differ in the last bit), while for one shape every row's result is independent of its
batch-mates and of the thread count.  So on the CPU the model always runs on chunks of
exactly ``--compute-rows`` clips (default :data:`CPU_COMPUTE_ROWS`), the last chunk filled
up with copies; then ``--batch-size``, ``--shard`` and the number of processes cannot
change a single bit for a given ``--compute-rows``, which the collection records (and
``--resume`` and ``store merge`` check).  Larger chunks make larger matrix products (faster
per clip), but each clip length fills its last chunk with copies, so the default is modest.
On CUDA the whole batch runs at once (speed first; bit equality is promised on the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import KinemicError
from ..motion.features import gaussian_smooth
from ..motion.resample import resample_time
from ..prior.bundle import Prior
from ..prior.diffusion import ClipNoise, create_sampler, sample
from ..runtime.precision import autocast
from ..skeletons import Skeleton, convert_joints
from .plan import PlannedClip
from .shot_posterior import ShotPosterior, shot_bank

__all__ = ["SamplingOptions", "DiffusionClipSampler", "CPU_COMPUTE_ROWS", "smooth_joints"]

CPU_COMPUTE_ROWS = 8


@dataclass(frozen=True)
class SamplingOptions:
    sampler: str = "ddpm"
    steps: int | None = None
    guidance: float = 2.5
    precision: str = "fp32"
    from_shots: float | None = None  # SDEdit strength: start from a noised shot of the class
    guidance_above: float = 0.0  # guide only the steps above this fraction of the schedule
    shot_guidance: float = 0.0  # weight of the shots' posterior mean in each step's prediction
    shot_guidance_above: float = 0.0  # ... applied only at the steps above this fraction of the schedule
    smooth: float = 0.0  # seconds: Gaussian low-pass (sigma) of the generated joints over time; 0 = off


def smooth_joints(joints: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Joints ``[T, J, C]`` low-passed over time by a Gaussian of ``sigma_frames`` (edges held).

    Why (``generate --smooth``): a student of an x0-skip prior passes a nearly clean input
    through, so the noise of the sampler's last steps stays in its clips as frame-to-frame
    jitter (demo world: 3.3 cm of joint motion above a 50 ms low-pass, against 0.9 cm for
    tracked clips), which the speed ratio counts as motion.  A 50 ms low-pass takes it to
    the tracked clips' level.  Applied to the joints on the prior's skeleton and frame rate,
    before any change of frame rate (so it also stops aliasing there).  Off by default: on the
    demo world the smoothed clips score better on the scorecard but train a worse recogniser
    (the jitter works as a noise augmentation; README, "The jitter, measured and removed").
    """
    joints = np.asarray(joints)
    if sigma_frames <= 0 or len(joints) < 2:
        return joints
    flat = gaussian_smooth(joints.reshape(len(joints), -1).astype(np.float64), float(sigma_frames))
    return flat.reshape(joints.shape).astype(joints.dtype)


class DiffusionClipSampler:
    """Planned clips -> joints ``[T, J, C]`` on ``skeleton`` at ``fps``.

    ``label_to_class`` maps a plan label (a dataset class id) to the adapted model's
    action index and ``class_text[k]`` ``[C_k, E]`` holds that class's caption
    embeddings; for a plain prior both are empty and every clip needs ``text``.
    """

    def __init__(self, model: torch.nn.Module, prior: Prior, *, options: SamplingOptions, skeleton: Skeleton,
                 fps: float, class_names: list[str], device: torch.device | str = "cpu",
                 label_to_class: dict[int, int] | None = None, class_text: list[np.ndarray] | None = None,
                 use_action: bool = True, compute_rows: int = CPU_COMPUTE_ROWS,
                 shot_features: dict[int, list[np.ndarray]] | None = None):
        self.model, self.prior, self.options = model, prior, options
        self.skeleton, self.fps, self.class_names = skeleton, float(fps), list(class_names)
        self.device = torch.device(device)
        self.label_to_class = dict(label_to_class or {})
        self.class_text = list(class_text or [])
        self.use_action = use_action
        if compute_rows < 1:
            raise KinemicError(f"--compute-rows must be at least 1, got {compute_rows}")
        self.compute_rows = int(compute_rows)
        self._text_cache: dict[str, np.ndarray] = {}
        self.sampler = create_sampler(options.sampler, prior.schedule, options.steps)
        self.shot_features = shot_features or {}  # per label, normalised, sorted by (length, sample id)
        if options.from_shots is not None and not self.shot_features:
            raise KinemicError("--from-shots needs the model's shots (an adapted model whose shots are in the store)")
        if options.shot_guidance and not self.shot_features:
            raise KinemicError("--shot-guidance needs the model's shots (an adapted model whose shots are in the store)")
        self._banks: dict[tuple[int, int], torch.Tensor] = {}

    @property
    def diffusion_steps(self) -> int:
        return len(self.sampler.timesteps)

    def _encode(self, text: str) -> np.ndarray:
        if text not in self._text_cache:
            if self.prior.text_encoder is None:
                raise KinemicError("this prior was loaded without its text encoder; free-text prompts need it")
            self._text_cache[text] = self.prior.text_encoder.encode([text])[0]
        return self._text_cache[text]

    def _conditioning(self, batch: list[PlannedClip]) -> tuple[torch.Tensor, torch.Tensor | None]:
        texts, actions = [], []
        for item in batch:
            k = self.label_to_class.get(item.label)
            if item.text:
                texts.append(self._encode(item.text))
            elif k is not None and self.class_text:
                captions = self.class_text[k]
                texts.append(captions[item.index % len(captions)])
            else:
                raise KinemicError(f"clip {item.sample_id}: no text prompt and no adapted class to condition on")
            actions.append(-1 if k is None else k)
        text = torch.from_numpy(np.stack(texts).astype(np.float32)).to(self.device)
        if not self.use_action or all(a < 0 for a in actions):
            return text, None
        if any(a < 0 for a in actions):
            raise KinemicError("a batch mixes action-conditioned and text-only clips")
        return text, torch.tensor(actions, dtype=torch.long, device=self.device)

    def sample_features(self, batch: list[PlannedClip], progress=None) -> np.ndarray:
        """Normalised generator features ``[B, T, F]`` of one equal-length batch."""
        lengths = {item.length for item in batch}
        if len(lengths) != 1:
            raise KinemicError(f"a sampling batch must hold clips of one length, got {sorted(lengths)}")
        length = lengths.pop()
        if not 1 <= length <= self.prior.max_frames:
            raise KinemicError(f"clip length {length} outside 1..{self.prior.max_frames} (the prior's longest)")
        rows = self.compute_rows if self.device.type == "cpu" else len(batch)
        out = []
        self.model.eval()
        for start in range(0, len(batch), rows):
            chunk = batch[start : start + rows]
            filled = chunk + [chunk[0]] * (rows - len(chunk))  # fill-up rows are dropped below
            text, action = self._conditioning(filled)
            noise = ClipNoise([item.seed for item in filled], (length, self.prior.features.dim), self.device)
            start = None
            if self.options.from_shots is not None:
                start = (self._shots_of(filled, length), float(self.options.from_shots))
            refine = None
            if self.options.shot_guidance:
                refine = ShotPosterior([self._bank(item.label, length) for item in filled], self.options.shot_guidance,
                                       self.prior.schedule.alphas_cumprod, above=self.options.shot_guidance_above)
            x0 = sample(self._denoise, self.sampler, noise=noise, text=text, action=action, mask=None,
                        guidance=self.options.guidance, progress=progress, start=start,
                        guidance_above=self.options.guidance_above, refine=refine)
            out.append(x0[: len(chunk)].float().cpu().numpy())
        return np.concatenate(out)

    def _bank(self, label: int, length: int) -> torch.Tensor:
        """The shots of ``label`` brought to ``length`` frames (cached per class and length)."""
        key = (int(label), int(length))
        if key not in self._banks:
            bank = shot_bank(self.shot_features.get(int(label), []), length, to_joints=self.prior.to_joints,
                             to_features=self.prior.to_features)
            self._banks[key] = torch.from_numpy(bank).double()  # the posterior's arithmetic is float64
        return self._banks[key]

    def _shots_of(self, batch: list[PlannedClip], length: int) -> torch.Tensor:
        """The clean features ``[B, T, F]`` of the shot each planned clip mirrors (``item.shot``)."""
        rows = []
        for item in batch:
            shots = self.shot_features.get(item.label, [])
            if not 0 <= item.shot < len(shots) or len(shots[item.shot]) != length:
                raise KinemicError(f"clip {item.sample_id}: no shot of {length} frames to start from "
                                   "(--from-shots needs clips planned from the shots' lengths, not --length)")
            rows.append(shots[item.shot])
        return torch.from_numpy(np.stack(rows).astype(np.float32)).to(self.device)

    def _denoise(self, *args, **kwargs) -> torch.Tensor:
        """The model's x0 prediction, its matrix products in ``--precision``; the sampler's arithmetic stays fp32."""
        with autocast(self.device, self.options.precision):
            return self.model(*args, **kwargs).float()

    def features_to_joints(self, features: np.ndarray) -> np.ndarray:
        """One clip's normalised features ``[T, F]`` -> joints on the output skeleton and fps."""
        joints = self.prior.features.to_joints(self.prior.normaliser.denormalise(features))
        if self.options.smooth > 0:
            joints = smooth_joints(joints, self.options.smooth * self.prior.fps)
        if self.skeleton.name != self.prior.skeleton.name:
            joints = convert_joints(joints, self.prior.skeleton.name, self.skeleton.name)
        if abs(self.fps - self.prior.fps) > 1e-6 and len(joints) > 1:
            joints = resample_time(joints, round(len(joints) * self.fps / self.prior.fps))
        return joints.astype(np.float32)

    def sample(self, batch: list[PlannedClip]) -> list[np.ndarray]:
        return [self.features_to_joints(f) for f in self.sample_features(batch)]
