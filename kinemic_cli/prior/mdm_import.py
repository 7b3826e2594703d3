"""Import the public MDM HumanML3D checkpoint (``humanml_enc_512_50steps``) as a kinemic prior.

The file is read with ``torch.load(weights_only=True)`` (tensors and plain containers
only; nothing in it can execute).  It is either the bare state dict or a dict holding it
under ``model`` (and an averaged copy under ``model_avg``, preferred: it samples better).
Every key is mapped onto :class:`~kinemic_cli.models.denoiser.MotionDenoiser` or the
import fails naming the keys left over; shapes are checked.  The two copies of MDM's
fixed sinusoid table are compared with ours instead of being loaded, and CLIP's own
weights (``clip_model.*``), which are not part of MDM's trainable state, are ignored.

MDM normalises the 263-d HumanML3D vectors with the dataset's ``Mean.npy``/``Std.npy``,
which the checkpoint does not hold: they are read from the HumanML3D folder the user
names (``allow_pickle=False``).

An import cannot be half right: MDM saves its training options as ``args.json`` beside the
checkpoint, and when it is there the import reads it and refuses what kinemic cannot
reproduce (another architecture, dataset, noise schedule or text encoder family, or a size
that disagrees with the weights); its diffusion step count and head count are used.  The
text encoder is loaded at import and must give embeddings of the width the weights take
(MDM was trained with CLIP ViT-B/32, 512-d; the 384-d MiniLM default cannot condition it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from ..errors import KinemicError
from ..models.denoiser import DenoiserConfig, MotionDenoiser, sinusoid_table
from ..motion.features import HumanML3DFeatures, bone_lengths
from ..motion.normaliser import Normaliser
from ..runtime.provenance import collect_provenance, file_sha256
from ..skeletons import SMPL22
from ..text import load_text_encoder
from .bundle import Prior, save_prior
from .diffusion import CosineSchedule

__all__ = ["read_mdm_state_dict", "mdm_to_kinemic_state", "import_mdm", "read_mdm_args", "check_mdm_args"]

_FIXED_TABLES = ("sequence_pos_encoder.pe", "embed_timestep.sequence_pos_encoder.pe")
_DIRECT = {
    "input_process.poseEmbedding": "input_proj",
    "output_process.poseFinal": "output_proj",
    "embed_timestep.time_embed.0": "time_mlp.0",
    "embed_timestep.time_embed.2": "time_mlp.2",
    "embed_text": "text_proj",
}
_LAYER = re.compile(r"^seqTransEncoder\.layers\.(\d+)\.(.+)$")
_LAYER_PARTS = {
    "self_attn.in_proj_weight": "attn.qkv.weight", "self_attn.in_proj_bias": "attn.qkv.bias",
    **{f"{mdm}.{kind}": f"{ours}.{kind}" for mdm, ours in (("self_attn.out_proj", "attn.out"), ("linear1", "ff1"),
                                                         ("linear2", "ff2"), ("norm1", "norm1"), ("norm2", "norm2"))
       for kind in ("weight", "bias")},
}


def read_mdm_state_dict(path: str | Path, *, prefer_average: bool = True) -> dict[str, torch.Tensor]:
    """The state dict inside an MDM checkpoint file, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise KinemicError(f"--import-mdm {path}: file not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean "not a plain checkpoint"
        raise KinemicError(f"{path}: not a tensors-only PyTorch checkpoint ({str(exc).splitlines()[0][:160]})") from None
    if not isinstance(data, dict):
        raise KinemicError(f"{path}: expected a state dict, found {type(data).__name__}")
    for key in (("model_avg", "model") if prefer_average else ("model", "model_avg")):
        if isinstance(data.get(key), dict):
            data = data[key]
            break
    if not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise KinemicError(f"{path}: the state dict holds values that are not tensors")
    return data


def mdm_to_kinemic_state(state: dict[str, torch.Tensor], *, where: str = "checkpoint") -> tuple[DenoiserConfig, dict]:
    """Map MDM's keys onto ours; returns the inferred config and our state dict."""
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.startswith(("clip_model.", "module.clip_model."))}
    mapped: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for mdm, ours in _DIRECT.items():
        for kind in ("weight", "bias"):
            key = f"{mdm}.{kind}"
            if key not in state:
                raise KinemicError(f"{where}: missing MDM key {key!r}")
            mapped[f"{ours}.{kind}"] = state[key]
            used.add(key)
    layers = set()
    for key, value in state.items():
        m = _LAYER.match(key)
        if not m:
            continue
        index, part = m.groups()
        if part not in _LAYER_PARTS:
            continue
        mapped[f"layers.{index}.{_LAYER_PARTS[part]}"] = value
        layers.add(int(index))
        used.add(key)
    for key in _FIXED_TABLES:
        used.add(key)
    leftover = sorted(set(state) - used)
    if leftover:
        raise KinemicError(f"{where}: MDM keys with no place in the kinemic denoiser: {', '.join(leftover[:8])}"
                           + (" ..." if len(leftover) > 8 else ""))
    if not layers or sorted(layers) != list(range(len(layers))):
        raise KinemicError(f"{where}: transformer layers missing or not numbered 0..N-1 ({sorted(layers)})")
    latent, features = mapped["input_proj.weight"].shape
    heads = 4  # MDM's released HumanML3D models; the head count is not recorded in the weights
    config = DenoiserConfig(features=int(features), text_dim=int(mapped["text_proj.weight"].shape[1]),
                            latent_dim=int(latent), layers=len(layers), heads=heads,
                            ff_dim=int(mapped["layers.0.ff1.weight"].shape[0]), dropout=0.1)
    for key in _FIXED_TABLES:
        if key in state:
            table = state[key].reshape(state[key].shape[0], -1)
            if table.shape[1] != latent or not torch.allclose(table, sinusoid_table(table.shape[0], latent), atol=1e-4):
                raise KinemicError(f"{where}: {key} is not the standard sinusoid table MDM uses")
    return config, mapped


def read_mdm_args(checkpoint: Path) -> dict:
    """MDM's ``args.json`` beside the checkpoint (``{}`` when there is none)."""
    path = checkpoint.with_name("args.json")
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise KinemicError(f"{path}: not valid JSON ({str(exc)[:60]})") from None
    if not isinstance(data, dict):
        raise KinemicError(f"{path}: expected MDM's options as a JSON object")
    return data


def check_mdm_args(args: dict, config: DenoiserConfig, *, where: str) -> dict:
    """Refuse an ``args.json`` kinemic cannot reproduce; returns what the import takes from it."""
    wanted = {"arch": "trans_enc", "dataset": "humanml", "noise_schedule": "cosine"}
    for key, value in wanted.items():
        if key in args and args[key] != value:
            raise KinemicError(f"{where}: {key} is {args[key]!r}; kinemic imports MDM's {key} {value!r} only")
    if args.get("text_encoder_type", "clip") != "clip":
        raise KinemicError(f"{where}: text_encoder_type {args['text_encoder_type']!r}; kinemic imports the CLIP MDM only")
    for key, have in (("layers", config.layers), ("latent_dim", config.latent_dim)):
        if key in args and int(args[key]) != have:
            raise KinemicError(f"{where}: {key} is {args[key]} but the weights have {have}")
    steps = int(args.get("diffusion_steps", 50))
    if steps < 2:
        raise KinemicError(f"{where}: diffusion_steps {steps}")
    return {"diffusion_steps": steps, "heads": int(args.get("heads", 4)),
            "mask_frames": bool(args.get("mask_frames", True)), "cond_mask_prob": args.get("cond_mask_prob")}


def _checked_text_encoder(name: str, text_dim: int) -> None:
    """The text encoder must load offline and give ``text_dim``-d embeddings."""
    try:
        encoder = load_text_encoder(name)
    except KinemicError:
        raise KinemicError(
            f"text encoder {name!r} is not available offline; MDM was trained with CLIP ViT-B/32: save it once as a "
            "sentence-transformers folder (on a machine with internet: "
            "SentenceTransformer('clip-ViT-B-32').save('DIR')) and pass --text-encoder DIR") from None
    if encoder.dim != text_dim:
        raise KinemicError(f"--text-encoder {name!r} gives {encoder.dim}-d embeddings; the MDM weights take {text_dim}-d "
                           "(CLIP ViT-B/32)")


def _load_stats(folder: Path) -> Normaliser:
    try:
        mean = np.load(folder / "Mean.npy", allow_pickle=False)
        std = np.load(folder / "Std.npy", allow_pickle=False)
    except FileNotFoundError as exc:
        raise KinemicError(f"--mdm-stats {folder}: {Path(exc.filename).name} not found (the HumanML3D root holds "
                           "Mean.npy and Std.npy)") from None
    except ValueError as exc:
        raise KinemicError(f"--mdm-stats {folder}: Mean.npy/Std.npy are not plain arrays ({exc})") from None
    if mean.shape != (263,) or std.shape != (263,):
        raise KinemicError(f"--mdm-stats {folder}: Mean.npy/Std.npy must have shape (263,), got {mean.shape}, {std.shape}")
    return Normaliser(mean.astype(np.float32), np.maximum(std, 1e-5).astype(np.float32))


def reference_bone_lengths(folder: Path) -> np.ndarray | None:
    """HumanML3D's reference body, measured on a processed clip of ``folder/new_joints``.

    HumanML3D retargets every clip to one body before computing its vectors, so all its
    processed joints carry that body's bone lengths; kinemic retargets target clips to it
    too (``hml263`` with ``bone_lengths``).  ``None`` when the folder has no joints.
    """
    joints_dir = folder / "new_joints"
    files = sorted(joints_dir.glob("*.npy")) if joints_dir.is_dir() else []
    for path in files[:5]:
        try:
            joints = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if joints.ndim == 2 and joints.shape[1] == 66:
            joints = joints.reshape(len(joints), 22, 3)
        if joints.ndim != 3 or joints.shape[1:] != (22, 3) or not len(joints) or not np.all(np.isfinite(joints[0])):
            continue
        lengths = bone_lengths(joints, SMPL22)
        if np.all(lengths[1:] > 0):
            return lengths
    return None


def import_mdm(checkpoint: str | Path, out: str | Path, *, stats_folder: str | Path, text_encoder: str = "clip-ViT-B-32",
               source_collection: str | None = "humanml3d") -> dict:
    """Convert ``checkpoint`` into a prior folder ``out``; returns a summary."""
    checkpoint, out = Path(checkpoint), Path(out)
    if out.exists() and any(out.iterdir()):
        raise KinemicError(f"--out {out} is not empty; choose a new folder")
    state = read_mdm_state_dict(checkpoint)
    config, mapped = mdm_to_kinemic_state(state, where=str(checkpoint))
    options = check_mdm_args(read_mdm_args(checkpoint), config, where=str(checkpoint.with_name("args.json")))
    config.heads = options["heads"]
    if config.latent_dim % config.heads:
        raise KinemicError(f"{checkpoint}: width {config.latent_dim} does not split into {config.heads} heads")
    _checked_text_encoder(text_encoder, config.text_dim)
    if config.features != 263:
        raise KinemicError(f"{checkpoint}: input width {config.features}; the HumanML3D MDM has 263 features")
    model = MotionDenoiser(config)
    expected = model.state_dict()
    for key, value in mapped.items():
        if tuple(expected[key].shape) != tuple(value.shape):
            raise KinemicError(f"{checkpoint}: {key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    missing = sorted(set(expected) - set(mapped) - {"action_embed.weight"})
    if missing:
        raise KinemicError(f"{checkpoint}: no MDM weights for {', '.join(missing[:8])}")
    model.load_state_dict({**expected, **mapped})
    normaliser = _load_stats(Path(stats_folder))
    lengths = reference_bone_lengths(Path(stats_folder))
    bundle = Prior(model=model.eval(), schedule=CosineSchedule(options["diffusion_steps"]), normaliser=normaliser,
                   skeleton=SMPL22, features=HumanML3DFeatures(SMPL22, bone_lengths=lengths), text_encoder=None,
                   text_encoder_name=text_encoder, fps=20.0, max_frames=196, preset="paper",
                   source_collection=source_collection)
    provenance = collect_provenance("pretrain --import-mdm", {"checkpoint": str(checkpoint), "stats": str(stats_folder),
                                                              "text_encoder": text_encoder, "mdm_args": options},
                                    inputs=[str(checkpoint)], checkpoint_sha256=file_sha256(checkpoint))
    save_prior(out, bundle, provenance=provenance)
    return {"out": str(out), "layers": config.layers, "latent_dim": config.latent_dim, "text_dim": config.text_dim,
            "parameters": sum(p.numel() for p in model.parameters()), "mapped_tensors": len(mapped),
            "uniform_skeleton": lengths is not None}
