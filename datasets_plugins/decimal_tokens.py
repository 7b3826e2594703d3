"""Plain decimal tokens (``-12.345``, ``0.5``, ``7``) to float64 in numpy, equal bit for bit to ``float()``.

Why it exists: converting the 75 coordinates of every body of an NTU file one Python
``float()`` at a time, after splitting the whole file into Python ``bytes`` objects, is what
made the reader cost 1.7 ms a 350 kB file.  Here no per-token Python object is made.

How, and why it is exact:

- Each token is seen through a 16-byte window that ends where the token ends, so the token
  is right-aligned; the bytes before it are masked off.  (A token ending in the file's
  first 16 bytes has no such window: it is reported as not plain.)
  The window is two little-endian ``uint64`` words (read straight from the file through a
  byte-strided view), and every test below is a SWAR (SIMD within a register) byte-lane
  operation on them: the digit lanes are found at once; a plain token's other lanes are a
  leading minus and at most one more, which must be the dot (counted with
  ``bitwise_count``); the digits are combined 8 at a time with three multiply-shift steps.
- The dot is read as a ``0`` digit, giving ``N = L * 10**(r + 1) + R`` for ``r`` digits to
  its right (``R < 10**r``); the mantissa is ``L * 10**r + R = N - 9 * L * 10**r``.  A token
  of at most 15 characters has at most 15 digits, so every one of these integers is exact
  in float64 (below ``2**53``); ``L = floor(N / 10**(r + 1))`` exactly (the true quotient is
  ``L`` plus less than 0.1, far from ``L + 1`` at any rounding); and the final ``mantissa / 10**r`` is one IEEE division of two exact
  values, hence correctly rounded: the same float64 that ``float()`` (also correctly
  rounded) returns.
- Anything else (an exponent, a ``+``, 16 characters or more, two dots, text) is reported as
  not plain; the caller converts those few with ``float()`` or falls back to its own reader.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WIDTH", "byte_words", "plain_decimals"]

WIDTH = 16  # bytes per window: two uint64 words
_U = np.uint64


def _lanes(byte: int) -> np.uint64:
    return _U(int.from_bytes(bytes([byte]) * 8, "little"))


_PLUS_TO_HIGH_GE_0, _PLUS_TO_HIGH_GT_9 = _lanes(0x80 - 0x30), _lanes(0x7F - 0x39)
_ZEROS = _lanes(ord("0"))
_M8, _M16, _M32 = _U(0x00FF00FF00FF00FF), _U(0x0000FFFF0000FFFF), _U(0xFFFFFFFF)
_POW10_FLOAT = 10.0 ** np.arange(WIDTH)


def _by_length() -> tuple[np.ndarray, np.ndarray]:
    """Per token length (0..WIDTH): bit 7 of each of its byte lanes in the two words, and bit 7
    of its first byte alone, as [2, WIDTH + 1] uint64 tables."""
    keep = np.zeros((WIDTH + 1, 2), np.uint64)
    first_bit = np.zeros((WIDTH + 1, 2), np.uint64)
    for length in range(1, WIDTH + 1):
        token = np.zeros(WIDTH, np.uint8)
        token[WIDTH - length:] = 0x80
        keep[length] = token.view("<u8")
        first = np.zeros(WIDTH, np.uint8)
        first[WIDTH - length] = 0x80
        first_bit[length] = first.view("<u8")
    return keep.T.copy(), first_bit.T.copy()


_TOKEN_BITS, _FIRST_BIT = _by_length()


def byte_words(data: np.ndarray) -> np.ndarray:
    """``uint8`` bytes -> the little-endian uint64 starting at every byte (word ``i``: bytes ``i..i+7``).

    A byte-strided view, no copy: indexing it reads any 8 bytes of the file as one word.
    """
    return np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))


def _eight_digits(words: np.ndarray) -> np.ndarray:
    """Byte lanes holding digit values 0-9 (most significant at the lowest address) -> their integer."""
    words = (words * _U(10) + (words >> _U(8))) & _M8
    words = (words * _U(100) + (words >> _U(16))) & _M16
    return (words * _U(10000) + (words >> _U(32))) & _M32


def _digit_bits(words: np.ndarray, token_bits: np.ndarray) -> np.ndarray:
    """Bit 7 of each byte lane of the token that holds '0'-'9' (ASCII bytes: no lane carries)."""
    return (words + _PLUS_TO_HIGH_GE_0) & ~(words + _PLUS_TO_HIGH_GT_9) & token_bits


def _first_bit_index(bits0: np.ndarray, bits1: np.ndarray) -> np.ndarray:
    """Column (0-15) of the single bit-7 lane set across the two words (8 where none is)."""
    below1 = np.bitwise_count(bits1 - _U(1)) >> 3  # a bit at 8 * byte + 7 leaves that many ones below it
    return np.where(bits1 != 0, below1 + 8, np.bitwise_count(bits0 - _U(1)) >> 3).astype(np.int64)


def plain_decimals(data: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float64 value of each token and whether it was plain (only plain values are meaningful).

    ``data`` is the file's bytes (``uint8``, all below 0x80); a token occupies
    ``[end - length, end)`` of it.
    """
    # Every array below is one uint64 per token and word: numpy's fastest shape for this.
    if len(data) < WIDTH:
        return np.zeros(len(ends)), np.zeros(len(ends), bool)
    first_byte = ends - WIDTH
    at = np.maximum(first_byte, 0)
    words = byte_words(data)
    w0, w1 = words[at], words[at + 8]  # window bytes 0-7 and 8-15 (little endian: byte k is lane k)
    length = np.minimum(lengths, WIDTH)
    token0, token1 = _TOKEN_BITS[0].take(length), _TOKEN_BITS[1].take(length)
    digit0, digit1 = _digit_bits(w0, token0), _digit_bits(w1, token1)
    # A plain token's other bytes: a leading minus, then at most one more, which must be the dot.
    negative = data[ends - length] == ord("-")
    other0 = (token0 ^ digit0) ^ np.where(negative, _FIRST_BIT[0].take(length), _U(0))
    other1 = (token1 ^ digit1) ^ np.where(negative, _FIRST_BIT[1].take(length), _U(0))
    others = np.bitwise_count(other0).astype(np.int64) + np.bitwise_count(other1)
    dot_column = _first_bit_index(other0, other1)
    has_dot = others == 1
    dot_ok = data[at + dot_column] == ord(".")
    plain = (((others == 0) | (has_dot & dot_ok)) & (length - negative - others >= 1) & (lengths < WIDTH)
             & (first_byte >= 0))
    digit0, digit1 = (digit0 >> _U(7)) * _U(0xFF), (digit1 >> _U(7)) * _U(0xFF)  # whole digit bytes
    number = (_eight_digits((w0 & digit0) - (_ZEROS & digit0)) * _U(10**8)
              + _eight_digits((w1 & digit1) - (_ZEROS & digit1)))  # the dot read as a 0 digit
    right = np.where(has_dot, WIDTH - 1 - np.minimum(dot_column, WIDTH - 1), 0)  # digits after the dot
    # number = left * 10**(right + 1) + rest with rest < 10**right; the mantissa drops the dot's 0:
    # left * 10**right + rest = number - 9 * left * 10**right.  All integers below 2**53, so exact;
    # floor(number / 10**(right + 1)) is exactly left (the fraction it rounds away is below 0.1).
    number = number.astype(np.float64)
    scale = _POW10_FLOAT.take(right)
    left = np.where(has_dot, np.floor(number / (scale * 10.0)), 0.0)
    value = (number - 9.0 * left * scale) / scale
    return np.where(negative, -value, value), plain
