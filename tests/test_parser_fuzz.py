"""Fuzzing the NTU and Kinetics parsers: any bytes give a clip or the parser's own error, never a crash.

A valid file is mutated at random (bytes flipped, tokens replaced by huge numbers, NaN, text
or brackets, parts cut or repeated) with a fixed seed.  Every mutant must either parse to
finite float32 frames or raise the parser's error type (which ``prepare`` turns into a
skipped file with a reason).  The fast suite runs a bounded count; ``-m slow`` runs many more.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ntu_fixtures import kinetics_person, write_clip

from datasets_plugins.kinetics_parse import KineticsFileError, parse_kinetics
from datasets_plugins.ntu_parse import SkeletonFileError, parse_skeleton, select_bodies

NASTY = [b"1e39", b"-1e400", b"nan", b"inf", b"9" * 400, b"2147483648", b"-1", b"0x1F", b"[", b"]", b"{", b"}",
         b'"', b",", b"", b"\x00", b"\xff\xfe", b"1e-400", b"18446744073709551616", b"1.5e308"]


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    kind = int(rng.integers(6))
    if kind == 0 and data:  # flip bytes
        out = bytearray(data)
        for i in rng.integers(0, len(out), size=int(rng.integers(1, 8))):
            out[int(i)] = int(rng.integers(0, 256))
        return bytes(out)
    if kind == 1:  # replace a token
        tokens = data.split(b" ")
        i = int(rng.integers(len(tokens)))
        tokens[i] = NASTY[int(rng.integers(len(NASTY)))]
        return b" ".join(tokens)
    if kind == 2:  # cut
        return data[: int(rng.integers(0, len(data) + 1))]
    if kind == 3:  # repeat a slice
        a, b = sorted(int(v) for v in rng.integers(0, len(data) + 1, size=2))
        return data[:b] + data[a:b] + data[b:]
    if kind == 4:  # insert a nasty value at a random place
        i = int(rng.integers(0, len(data) + 1))
        return data[:i] + NASTY[int(rng.integers(len(NASTY)))] + data[i:]
    return bytes(rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8))  # noise


def _ntu_seed(tmp_path) -> bytes:
    write_clip(tmp_path, "S001C001P001R001A001", frames=6, persons=2, seed=4)
    return (tmp_path / "S001C001P001R001A001.skeleton").read_bytes()


def _kinetics_seed() -> bytes:
    rng = np.random.default_rng(0)
    data = [{"frame_index": t + 1, "skeleton": [kinetics_person(rng, score=0.7) for _ in range(1 + t % 3)]}
            for t in range(6)]
    return json.dumps({"data": data, "label": "x", "label_index": 1}).encode()


def _fuzz_ntu(seed_bytes: bytes, count: int) -> dict:
    rng = np.random.default_rng(20261203)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(count):
        data = _mutate(seed_bytes, rng)
        try:
            parsed = parse_skeleton(data)
            frames, _ = select_bodies(parsed, 2)
        except SkeletonFileError:
            outcomes["refused"] += 1
            continue
        assert frames.dtype == np.float32 and np.isfinite(frames).all()
        outcomes["parsed"] += 1
    return outcomes


def _fuzz_kinetics(seed_bytes: bytes, count: int) -> dict:
    rng = np.random.default_rng(20261204)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(count):
        data = _mutate(seed_bytes, rng)
        try:
            parsed = parse_kinetics(data, persons=2)
        except KineticsFileError:
            outcomes["refused"] += 1
            continue
        assert parsed.frames.dtype == np.float32 and np.isfinite(parsed.frames).all()
        assert parsed.frames.shape[0] <= 6 + 1000 + 1  # never an allocation the file cannot mean
        outcomes["parsed"] += 1
    return outcomes


def test_ntu_parser_fuzz_short(tmp_path):
    outcomes = _fuzz_ntu(_ntu_seed(tmp_path), 2000)
    assert outcomes["refused"] > 0 and outcomes["parsed"] > 0


def test_kinetics_parser_fuzz_short():
    outcomes = _fuzz_kinetics(_kinetics_seed(), 2000)
    assert outcomes["refused"] > 0 and outcomes["parsed"] > 0


@pytest.mark.slow
def test_parser_fuzz_long(tmp_path):
    ntu, kinetics = _fuzz_ntu(_ntu_seed(tmp_path), 100_000), _fuzz_kinetics(_kinetics_seed(), 100_000)
    assert ntu["refused"] and kinetics["refused"]
