"""The two ELF symbol hash tables ld.so looks dynamic symbols up with.

SysV `.hash` (gABI): nbucket, nchain, buckets, chains; every dynamic symbol is in it.
GNU `.gnu.hash`: symbols from `symoffset` on, sorted by bucket, with a Bloom filter in
front; a chain ends at the entry whose low bit is set.  The caller must order .dynsym so
that the hashed symbols come last, grouped by `gnu_bucket_order`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from ..targets import word_format


def sysv_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


def gnu_hash(name: bytes) -> int:
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


# Bucket counts GNU ld picks from (primes that keep chains short for typical sizes).
_BUCKET_SIZES = (1, 3, 17, 37, 67, 97, 131, 197, 263, 521, 1031, 2053, 4099, 8209, 16411,
                 32771, 65537)


def bucket_count(n: int) -> int:
    best = 1
    for size in _BUCKET_SIZES:
        if size > n:
            break
        best = size
    return best if n else 1


def build_sysv_hash(names: Sequence[bytes]) -> bytes:
    """`names[0]` is the null symbol's (empty) name; every index is hashed but 0."""
    nchain = len(names)
    nbucket = bucket_count(nchain)
    buckets = np.zeros(nbucket, dtype="<u4")
    chains = np.zeros(nchain, dtype="<u4")
    for i in range(1, nchain):
        b = sysv_hash(names[i]) % nbucket
        chains[i] = buckets[b]
        buckets[b] = i
    return struct.pack("<II", nbucket, nchain) + buckets.tobytes() + chains.tobytes()


def gnu_bucket_order(names: Sequence[bytes], nbucket: int) -> list[int]:
    """Indices of `names` in the order .gnu.hash needs them (stable by bucket)."""
    return sorted(range(len(names)), key=lambda i: gnu_hash(names[i]) % nbucket)


def gnu_bucket_count(defined: int) -> int:
    return max(1, bucket_count(defined))


def build_gnu_hash(names: Sequence[bytes], symoffset: int, nbucket: int, word: int) -> bytes:
    """`names` are all of .dynsym's names; those from `symoffset` on are hashed and must
    already be in `gnu_bucket_order`."""
    hashed = names[symoffset:]
    hashes = [gnu_hash(n) for n in hashed]
    bits = word * 8
    bloom_size = 1
    while bloom_size * bits < max(1, len(hashed)) * 2:  # ~2 bits per symbol... at least
        bloom_size *= 2
    shift = bits.bit_length() - 1  # log2 of the bloom word's bits: 6 (ELF64) or 5
    bloom = [0] * bloom_size
    for h in hashes:
        w = (h // bits) % bloom_size
        bloom[w] |= (1 << (h % bits)) | (1 << ((h >> shift) % bits))
    buckets = [0] * nbucket
    chains = [0] * len(hashed)
    for i, h in enumerate(hashes):
        b = h % nbucket
        if buckets[b] == 0:
            buckets[b] = symoffset + i
        last = i + 1 == len(hashed) or hashes[i + 1] % nbucket != b
        chains[i] = (h & ~1) | (1 if last else 0)
    word_fmt = word_format(word)
    return (
        struct.pack("<IIII", nbucket, symoffset, bloom_size, shift)
        + struct.pack(f"<{bloom_size}{word_fmt}", *bloom)
        + struct.pack(f"<{nbucket}I", *buckets)
        + struct.pack(f"<{len(chains)}I", *chains)
    )


def gnu_hash_size(nsyms_hashed: int, nbucket: int, word: int) -> int:
    bits = word * 8
    bloom_size = 1
    while bloom_size * bits < max(1, nsyms_hashed) * 2:
        bloom_size *= 2
    return 16 + bloom_size * word + 4 * nbucket + 4 * nsyms_hashed
