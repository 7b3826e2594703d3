"""Plain decimal tokens (``-12.345``, ``0.5``, ``7``) to float64 in numpy, equal bit for bit to ``float()``.

Why it exists: converting the 75 coordinates of every body of an NTU file one Python
``float()`` at a time, after splitting the whole file into Python ``bytes`` objects, is what
made the reader cost ~3 ms a file.  Here no per-token Python object is made.

How, and why it is exact:

- Each token is seen through a 16-byte window that ends where the token ends (the file is
  padded in front), so the token is right-aligned; the bytes before it are masked off.
  The window is two little-endian ``uint64`` words, and every test below is a SWAR
  (SIMD within a register) byte-lane operation on them: digits, the dot and the minus are
  found per byte, counted with ``bitwise_count``, and the digits are combined 8 at a time
  with three multiply-shift steps.
- The dot is read as a ``0`` digit, giving ``N = L * 10**(r + 1) + R`` for ``r`` digits to
  its right; the integer mantissa is ``L * 10**r + R``.  A token of at most 15 characters
  has at most 15 digits, so the mantissa is an exact integer below ``2**53``, ``10**r`` is
  exact, and one IEEE division of two exact values is correctly rounded: the same float64
  that ``float()`` (also correctly rounded) returns.
- Anything else (an exponent, a ``+``, 16 characters or more, two dots, text) is reported as
  not plain; the caller converts those few with ``float()`` or falls back to its own reader.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WIDTH", "plain_decimals"]

WIDTH = 16  # bytes per window: two uint64 words
_U = np.uint64


def _lanes(byte: int) -> np.uint64:
    return _U(int.from_bytes(bytes([byte]) * 8, "little"))


_HIGH, _LOW7 = _lanes(0x80), _lanes(0x7F)
_PLUS_TO_HIGH_GE_0, _PLUS_TO_HIGH_GT_9 = _lanes(0x80 - 0x30), _lanes(0x7F - 0x39)
_DOTS, _MINUSES, _ZEROS = _lanes(ord(".")), _lanes(ord("-")), _lanes(ord("0"))
_ALL = _U(0xFFFFFFFFFFFFFFFF)
_M8, _M16, _M32 = _U(0x00FF00FF00FF00FF), _U(0x0000FFFF0000FFFF), _U(0xFFFFFFFF)
_POW10_INT = 10 ** np.arange(WIDTH, dtype=np.uint64)
_POW10_FLOAT = 10.0 ** np.arange(WIDTH)


def _by_length() -> tuple[np.ndarray, np.ndarray]:
    """Per token length (0..WIDTH): the masks that keep its bytes in the two words, and the bit
    that a leading minus sets (bit 7 of the token's first byte), as [2, WIDTH + 1] uint64 tables."""
    keep = np.zeros((WIDTH + 1, 2), np.uint64)
    first_bit = np.zeros((WIDTH + 1, 2), np.uint64)
    for length in range(1, WIDTH + 1):
        token = np.zeros(WIDTH, np.uint8)
        token[WIDTH - length:] = 0xFF
        keep[length] = token.view(np.uint64)
        first = np.zeros(WIDTH, np.uint8)
        first[WIDTH - length] = 0x80
        first_bit[length] = first.view(np.uint64)
    return keep.T.copy(), first_bit.T.copy()


_KEEP, _FIRST_BIT = _by_length()


def _bytes_equal(words: np.ndarray, lanes: np.uint64) -> np.ndarray:
    """Bit 7 of each byte lane set exactly where the byte equals the lane's (ASCII) value."""
    y = words ^ lanes
    return ~(((y & _LOW7) + _LOW7) | y) & _HIGH


def _eight_digits(words: np.ndarray) -> np.ndarray:
    """Byte lanes holding digit values 0-9 (most significant at the lowest address) -> their integer."""
    words = (words * _U(10) + (words >> _U(8))) & _M8
    words = (words * _U(100) + (words >> _U(16))) & _M16
    return (words * _U(10000) + (words >> _U(32))) & _M32


def _count(bits0: np.ndarray, bits1: np.ndarray) -> np.ndarray:
    return np.bitwise_count(bits0).astype(np.int64) + np.bitwise_count(bits1)


def plain_decimals(padded: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float64 value of each token and whether it was plain (only plain values are meaningful).

    ``padded`` is the file's bytes (``uint8``, all below 0x80) with ``WIDTH`` bytes in front;
    a token occupies ``[end - length, end)`` of the unpadded file.
    """
    # Every array below is one uint64 per token and word: numpy's fastest shape for this.
    window = np.lib.stride_tricks.sliding_window_view(padded, WIDTH)[ends].view(_U)  # token right-aligned
    length = np.minimum(lengths, WIDTH)
    w0 = window[:, 0] & np.take(_KEEP[0], length)  # window bytes 0-7, the token's only
    w1 = window[:, 1] & np.take(_KEEP[1], length)  # bytes 8-15
    digit0 = ((w0 + _PLUS_TO_HIGH_GE_0) & _HIGH) & ~((w0 + _PLUS_TO_HIGH_GT_9) & _HIGH)
    digit1 = ((w1 + _PLUS_TO_HIGH_GE_0) & _HIGH) & ~((w1 + _PLUS_TO_HIGH_GT_9) & _HIGH)
    dot0, dot1 = _bytes_equal(w0, _DOTS), _bytes_equal(w1, _DOTS)
    minus0, minus1 = _bytes_equal(w0, _MINUSES), _bytes_equal(w1, _MINUSES)
    digits, dots, minuses = _count(digit0, digit1), _count(dot0, dot1), _count(minus0, minus1)
    leading_minus = (minus0 == np.take(_FIRST_BIT[0], length)) & (minus1 == np.take(_FIRST_BIT[1], length))
    plain = ((digits + dots + minuses == lengths) & (dots <= 1) & ((minuses == 0) | leading_minus)
             & (digits >= 1) & (lengths < WIDTH))
    digit0, digit1 = (digit0 >> _U(7)) * _U(0xFF), (digit1 >> _U(7)) * _U(0xFF)  # whole digit bytes
    number = (_eight_digits((w0 & digit0) - (_ZEROS & digit0)) * _U(10**8)
              + _eight_digits((w1 & digit1) - (_ZEROS & digit1)))  # the dot read as a 0 digit
    # a single dot bit at bit 8 * byte + 7 leaves that many ones below it
    dot_column = np.where(dot1 != 0, 8 + (np.bitwise_count(dot1 - _U(1)) >> 3),
                          np.bitwise_count(dot0 - _U(1)) >> 3).astype(np.int64)
    right = np.where(dots == 1, np.clip(WIDTH - 1 - dot_column, 0, WIDTH - 1), 0)  # digits after the dot
    scale = np.take(_POW10_INT, right)
    mantissa = np.where(dots == 1, number // (scale * _U(10)) * scale + number % (scale * _U(10)), number)
    value = mantissa.astype(np.float64) / np.take(_POW10_FLOAT, right)
    return np.where(minuses == 1, -value, value), plain
