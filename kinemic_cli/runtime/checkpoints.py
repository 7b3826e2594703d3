"""Checkpoints without pickle: safetensors for tensors, JSON for everything else.

:func:`save_state` accepts any nesting of dicts, lists, tensors, numpy arrays and JSON
scalars (a model ``state_dict``, an optimizer ``state_dict``, RNG states) and writes
``<base>.safetensors`` + ``<base>.json``; :func:`load_state` rebuilds the same structure.
Loading a user's checkpoint therefore never executes code.

The checkpoint is ONE file: the JSON document (structure, step, metadata) travels inside
the safetensors header, which is written atomically together with the tensors, so no
death between two renames can pair new weights with an old step.  ``<base>.json`` is the
same document written after it, for people and tools to read; loading trusts the
safetensors file.  (Files from before this layout have no document in the header; their
JSON is read instead, and must name this very tensor file.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import KinemicError
from .atomic import atomic_output, atomic_write_text

__all__ = ["save_state", "load_state", "state_exists", "rng_state", "set_rng_state"]

_FORMAT = "kinemic-state-1"
_HEADER_KEY = "kinemic-state"  # the JSON document inside the safetensors header


def _flatten(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    if isinstance(obj, torch.Tensor):
        key = prefix or "_"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = prefix or "_"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj))
        return {"__ndarray__": key}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"checkpoint keys must be str or int, got {type(k).__name__}")
            tag = f"i:{k}" if isinstance(k, int) else f"s:{k}"
            out[tag] = _flatten(v, tensors, f"{prefix}.{k}" if prefix else str(k))
        return {"__dict__": out}
    if isinstance(obj, (list, tuple)):
        items = [_flatten(v, tensors, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint (only tensors, arrays and JSON values)")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy()
        if "__tuple__" in obj:
            return tuple(_unflatten(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            out = {}
            for tag, v in obj["__dict__"].items():
                kind, key = tag.split(":", 1)
                out[int(key) if kind == "i" else key] = _unflatten(v, tensors)
            return out
        raise KinemicError("malformed checkpoint JSON (unknown object)")
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save_state(base: str | Path, state: Any, *, meta: dict | None = None) -> Path:
    """Write ``state`` to ``<base>.safetensors`` and ``<base>.json``; returns the JSON path."""
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, tensors, "")
    # safetensors refuses tensors sharing storage: give each its own copy
    tensors = {k: v.clone() for k, v in tensors.items()}
    tensor_file = base.with_name(base.name + ".safetensors")
    doc = {"format": _FORMAT, "tensors": tensor_file.name, "tree": tree, "meta": meta or {}}
    text = json.dumps(doc)
    with atomic_output(tensor_file) as tmp:
        save_file(tensors, str(tmp), metadata={_HEADER_KEY: text})
    json_file = base.with_name(base.name + ".json")
    atomic_write_text(json_file, text)
    return json_file


def state_exists(base: str | Path) -> bool:
    base = Path(base)
    return base.with_name(base.name + ".safetensors").exists() and base.with_name(base.name + ".json").exists()


def _document(tensor_file: Path, header: dict | None, json_file: Path) -> dict:
    """The checkpoint's JSON document: from the safetensors header, or (older files) the JSON beside it."""
    if header and _HEADER_KEY in header:
        try:
            doc = json.loads(header[_HEADER_KEY])
        except json.JSONDecodeError as exc:
            raise KinemicError(f"{tensor_file}: damaged checkpoint document ({exc.msg})") from None
    else:
        try:
            doc = json.loads(json_file.read_text())
        except FileNotFoundError:
            raise KinemicError(f"{json_file}: checkpoint not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise KinemicError(f"{json_file}: not a valid checkpoint JSON ({str(exc)[:60]})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or not isinstance(doc.get("tree"), (dict, list)):
        raise KinemicError(f"{json_file}: not a kinemic checkpoint")
    if doc.get("tensors") != tensor_file.name:
        raise KinemicError(f"{json_file}: names tensors {str(doc.get('tensors'))[:60]!r}, not {tensor_file.name!r} "
                           "beside it (refusing to read another file)")
    return doc


def load_state(base: str | Path, *, map_location: str = "cpu") -> tuple[Any, dict]:
    """Read what :func:`save_state` wrote; returns ``(state, meta)``."""
    base = Path(base)
    json_file = base.with_name(base.name + ".json")
    tensor_file = base.with_name(base.name + ".safetensors")
    if not tensor_file.exists():
        raise KinemicError(f"{json_file if not json_file.exists() else tensor_file}: checkpoint not found")
    try:
        with safe_open(str(tensor_file), framework="pt", device=map_location) as f:
            header = f.metadata()
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise KinemicError(f"{tensor_file}: unreadable safetensors file ({str(exc)[:80]})") from None
    doc = _document(tensor_file, header, json_file)
    try:
        return _unflatten(doc["tree"], tensors), doc.get("meta", {})
    except (KeyError, TypeError, ValueError) as exc:
        raise KinemicError(f"{json_file}: the checkpoint document does not fit its tensors ({exc!r:.60})") from None


def rng_state(numpy_generator: np.random.Generator | None = None) -> dict:
    """Everything needed to continue a run bit-identically (torch CPU/CUDA, numpy)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    if numpy_generator is not None:
        state["numpy"] = json.dumps(numpy_generator.bit_generator.state)
    return state


def set_rng_state(state: dict, numpy_generator: np.random.Generator | None = None) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))
    if numpy_generator is not None and "numpy" in state:
        numpy_generator.bit_generator.state = json.loads(state["numpy"])
