"""The offline text encoder and its store cache (the real all-MiniLM-L6-v2)."""

from __future__ import annotations

import numpy as np
import pytest

from kinemic_cli.errors import KinemicError
from kinemic_cli.text import DEFAULT_TEXT_ENCODER, load_text_encoder


@pytest.fixture(scope="module")
def encoder():
    return load_text_encoder(DEFAULT_TEXT_ENCODER)


def test_default_encoder_is_offline_minilm(encoder):
    vectors = encoder.encode(["a person waves", "someone waves a hand", "a person sits down"])
    assert vectors.shape == (3, 384) and encoder.dim == 384
    sims = vectors @ vectors.T / np.outer(np.linalg.norm(vectors, axis=1), np.linalg.norm(vectors, axis=1))
    assert sims[0, 1] > sims[0, 2]  # paraphrases are closer than other actions


def test_store_cache_encodes_each_text_once(encoder, store):
    calls = []
    original = encoder._encode_now

    def counting(texts):
        calls.append(list(texts))
        return original(texts)

    encoder._encode_now = counting
    try:
        encoder.use_store_cache(store)
        first = encoder.encode(["a person jumps", "a person kicks", "a person jumps"])
        assert calls == [["a person jumps", "a person kicks"]]
        again = load_text_encoder(DEFAULT_TEXT_ENCODER).use_store_cache(store)  # a new process would see the file
        again._encode_now = counting
        np.testing.assert_array_equal(again.encode(["a person kicks", "a person jumps"]), first[[1, 0]])
        assert len(calls) == 1
        again.encode(["a person bows"])
        assert calls[-1] == ["a person bows"]
    finally:
        encoder._encode_now = original
        encoder.cache = None


def test_a_broken_cache_file_is_rebuilt(encoder, store):
    enc = load_text_encoder(DEFAULT_TEXT_ENCODER).use_store_cache(store)
    enc.encode(["a person claps"])
    path = enc.cache.path
    path.write_bytes(b"not hdf5")
    fresh = load_text_encoder(DEFAULT_TEXT_ENCODER).use_store_cache(store)
    assert fresh.encode(["a person claps"]).shape == (1, 384)
    assert path.read_bytes()[:4] != b"not "


def test_a_missing_model_is_one_clear_error():
    with pytest.raises(KinemicError, match="not available offline"):
        load_text_encoder("no-such-org/no-such-sentence-model")
