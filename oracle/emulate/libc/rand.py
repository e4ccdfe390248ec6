"""rand and srand with glibc's exact sequence, so a program that prints random numbers
prints the same ones under the emulator as natively.

glibc's rand() is random() with the default state: an additive lagged Fibonacci generator
of degree 31 and separation 3 over 32-bit words.  Seeding fills the 31 words with the
Park-Miller "minimal standard" generator (16807 * r mod 2**31 - 1, computed with Schrage's
method in signed 32-bit arithmetic, which is what makes seeds >= 2**31 come out right) and
then, after three words that are plain copies of the first three, discards 310 outputs.  Each output is the new word shifted right by one.
A process without srand behaves as if seeded with 1; srand(0) also means 1.
"""

from __future__ import annotations

from collections import deque

from oracle.emulate.libc.abi import signed

DEGREE, SEPARATION, DISCARD = 31, 3, 310
MODULUS, MULTIPLIER, QUOTIENT, REMAINDER = 2147483647, 16807, 127773, 2836


def _c_div(a: int, b: int) -> tuple[int, int]:
    """C's truncating division and remainder."""
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    return q, a - q * b


class GlibcRand:
    """The state behind one process's rand()/srand()."""

    def __init__(self) -> None:
        self._words: deque[int] = deque()
        self.seed(1)

    def seed(self, seed: int) -> None:
        word = signed(seed, 4) or 1
        words = [word]
        for _ in range(DEGREE - 1):
            high, low = _c_div(word, QUOTIENT)
            word = MULTIPLIER * low - REMAINDER * high
            if word < 0:
                word += MODULUS
            words.append(word)
        # The generator reads r[i-31] and r[i-3]; keep the last 31 words, oldest first.  The
        # first three words past the seeded ones are plain copies (r[31..33] = r[0..2]).
        self._words = deque((w & 0xFFFFFFFF for w in words), maxlen=DEGREE)
        self._words.extend(list(self._words)[:SEPARATION])
        for _ in range(DISCARD):
            self.next()

    def next(self) -> int:
        word = (self._words[0] + self._words[DEGREE - SEPARATION]) & 0xFFFFFFFF
        self._words.append(word)  # drops the oldest
        return word >> 1
