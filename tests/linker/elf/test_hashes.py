"""Hash tables: checked against the reference values and an independent lookup."""

import struct

from linker.elf.hashes import build_gnu_hash, build_sysv_hash, gnu_bucket_order, gnu_hash, sysv_hash


def test_hash_functions_match_known_values() -> None:
    # Values from the gABI / glibc's dl-hash.h and the GNU hash's definition (djb2).
    assert sysv_hash(b"") == 0
    assert sysv_hash(b"printf") == 0x077905A6
    assert gnu_hash(b"") == 5381
    assert gnu_hash(b"printf") == 0x156B2BB8


def _sysv_lookup(table: bytes, names: list[bytes], name: bytes) -> int:
    nbucket, nchain = struct.unpack_from("<II", table)
    buckets = struct.unpack_from(f"<{nbucket}I", table, 8)
    chains = struct.unpack_from(f"<{nchain}I", table, 8 + 4 * nbucket)
    i = buckets[sysv_hash(name) % nbucket]
    while i:
        if names[i] == name:
            return i
        i = chains[i]
    return 0


def _gnu_lookup(table: bytes, names: list[bytes], name: bytes) -> int:
    nbucket, symoffset, bloom_size, shift = struct.unpack_from("<IIII", table)
    bloom = struct.unpack_from(f"<{bloom_size}Q", table, 16)
    h = gnu_hash(name)
    word = bloom[(h // 64) % bloom_size]
    if not (word >> (h % 64)) & 1 or not (word >> ((h >> shift) % 64)) & 1:
        return 0
    buckets = struct.unpack_from(f"<{nbucket}I", table, 16 + 8 * bloom_size)
    chain_at = 16 + 8 * bloom_size + 4 * nbucket
    i = buckets[h % nbucket]
    if i == 0:
        return 0
    while True:
        value = struct.unpack_from("<I", table, chain_at + 4 * (i - symoffset))[0]
        if (value | 1) == (h | 1) and names[i] == name:
            return i
        if value & 1:
            return 0
        i += 1


def test_both_tables_find_every_symbol() -> None:
    defined = [f"sym{i}".encode() for i in range(200)]
    undefined = [b"", b"puts", b"printf"]
    nbucket = 37
    order = gnu_bucket_order(defined, nbucket)
    names = undefined + [defined[i] for i in order]
    sysv = build_sysv_hash(names)
    gnu = build_gnu_hash(names, len(undefined), nbucket, 8)
    for i, name in enumerate(names[1:], start=1):
        assert _sysv_lookup(sysv, names, name) == i
        if i >= len(undefined):
            assert _gnu_lookup(gnu, names, name) == i
    assert _gnu_lookup(gnu, names, b"nosuchsymbol") == 0
