"""The NTU array reader against the token reader and ``float()``: same values, same reports.

``parse_skeleton`` reads well-formed files with numpy (token bounds from one comparison,
coordinates by :func:`datasets_plugins.decimal_tokens.plain_decimals`) and hands any file it
cannot vouch for to the token reader.  These tests hold the two to one result: bit-identical
coordinates, the same ids, tracks and empty frames, and for mutated files either the same
parse or a hand-over whose outcome is the token reader's own.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ntu_fixtures import FIRST_BODY_ID, Body, smooth_motion, write_clip, write_skeleton
from test_parser_fuzz import _mutate

from datasets_plugins import ntu_parse
from datasets_plugins.decimal_tokens import WIDTH, plain_decimals
from datasets_plugins.ntu_parse import SkeletonFileError, parse_skeleton

ODD = [b"0.2195627", b"-0.2500062", b"2.93514", b"-0", b"-0.0", b"5", b"-7.", b".5", b"-.5", b"123456789012345",
       b"-12345678901234", b"1234567890123456", b"-", b".", b"-.", b"1e5", b"+1", b"--1", b"1-2", b"1.2.3", b"1..2",
       b"nan", b"inf", b"1_0", b"0x1", b"5.807362e-05", b"00012.5000", b"9" * 15, b"0." + b"9" * 13, b"0.1",
       b"0.30000000000001", b"4503599627370497"]


def _tokens_and_bounds(tokens: list[bytes]):
    raw = b" " * WIDTH + b" ".join(tokens)  # the first token ends after a whole window
    lengths = np.array([len(t) for t in tokens])
    ends = WIDTH + np.cumsum(lengths + 1) - 1
    return np.frombuffer(raw, np.uint8), ends, lengths


def test_plain_decimals_equal_float_bit_for_bit():
    rng = np.random.default_rng(7)
    tokens = list(ODD)
    for _ in range(20_000):
        whole = "".join(map(str, rng.integers(0, 10, int(rng.integers(0, 9)))))
        frac = "".join(map(str, rng.integers(0, 10, int(rng.integers(0, 9)))))
        text = ("-" if rng.random() < 0.5 else "") + whole + ("." + frac if rng.random() < 0.9 else "")
        tokens.append(text.encode())
    values, plain = plain_decimals(*_tokens_and_bounds(tokens))
    for token, value, is_plain in zip(tokens, values.tolist(), plain.tolist()):
        try:
            expected = float(token)
        except ValueError:
            expected = None
        if is_plain:  # a plain token is exactly float()'s value, sign of zero included
            assert expected is not None and value == expected and np.signbit(value) == np.signbit(expected), token
    assert plain.mean() > 0.9
    short = np.frombuffer(b"1.5 2.25", np.uint8)  # tokens ending inside the first window: not plain
    assert not plain_decimals(short, np.array([3, 8]), np.array([3, 4]))[1].any()
    not_plain = {t for t, p in zip(ODD, plain[: len(ODD)].tolist()) if not p}
    assert not_plain == {b"1234567890123456", b"-", b".", b"-.", b"1e5", b"+1", b"--1", b"1-2", b"1.2.3", b"1..2",
                         b"nan", b"inf", b"1_0", b"0x1", b"5.807362e-05", b"0.30000000000001", b"4503599627370497"}


def _same(a, b) -> bool:
    return (a.num_frames == b.num_frames and a.body_ids == b.body_ids and a.empty_frames == b.empty_frames
            and np.array_equal(a.present, b.present) and a.tracks.tobytes() == b.tracks.tobytes())


@pytest.mark.parametrize("layout", ["one body", "two bodies", "bodies come and go", "exponents", "lf"])
def test_array_reader_reads_real_layouts_like_the_token_reader(tmp_path, layout):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    if layout == "bodies come and go":
        rng = np.random.default_rng(3)
        write_skeleton(path, 30, [Body(FIRST_BODY_ID + 1, smooth_motion(rng, 20), start=0),
                                  Body(FIRST_BODY_ID + 2, smooth_motion(rng, 12), start=14)])
    else:
        write_clip(tmp_path, path.stem, frames=40, persons=2 if layout == "two bodies" else 1, seed=5,
                   crlf=layout != "lf")
    raw = path.read_bytes()
    if layout == "exponents":  # small values as the Kinect SDK writes them
        before = raw.count(b"e-")
        raw = raw.replace(b"\n0.0", b"\n1.5e-05", 3)  # as first (x) coordinates
        assert raw.count(b"e-") == before + 3
    arrays = ntu_parse._parse_arrays(raw)  # no hand-over for any real layout
    assert _same(arrays, ntu_parse._parse_tokens(raw))


def test_mutated_files_give_the_token_readers_result(tmp_path):
    write_clip(tmp_path, "S001C001P001R001A001", frames=6, persons=2, seed=4)
    seed_bytes = (tmp_path / "S001C001P001R001A001.skeleton").read_bytes()
    rng = np.random.default_rng(20261203)
    outcomes = {"arrays": 0, "handed over": 0}
    for _ in range(3000):
        data = _mutate(seed_bytes, rng)
        try:
            expected, error = ntu_parse._parse_tokens(data), None
        except SkeletonFileError as exc:
            expected, error = None, (exc.reason, exc.detail)
        try:
            got = ntu_parse._parse_arrays(data)
            outcomes["arrays"] += 1
            assert error is None and _same(got, expected)
        except ntu_parse._NotProven:
            outcomes["handed over"] += 1
        try:  # the public reader: always the token reader's outcome
            public, public_error = parse_skeleton(data), None
        except SkeletonFileError as exc:
            public, public_error = None, (exc.reason, exc.detail)
        assert public_error == error and (error is not None or _same(public, expected))
    assert outcomes["arrays"] > 300 and outcomes["handed over"] > 300


def test_heap_setting_respects_the_users_environment():
    code = "from datasets_plugins._heap import keep_freed_heap; print(keep_freed_heap(), keep_freed_heap())"
    own = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    users = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"MALLOC_TRIM_THRESHOLD_": "1000000", "PATH": ""})
    if sys.platform.startswith("linux"):
        assert own.stdout.split() == ["True", "True"]
    assert users.stdout.split() == ["False", "False"]
