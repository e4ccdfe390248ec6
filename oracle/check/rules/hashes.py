"""Hash table rules: ld.so finds symbols only through DT_HASH / DT_GNU_HASH, so every
symbol each table must index has to be reachable by the lookup glibc performs."""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage
from oracle.check.registry import DL_LOOKUP, GABI, Finding, rule
from oracle.check.tables import dyn_value, dynsym

TOPIC = "hashes"
STB_LOCAL = 0


@functools.lru_cache(maxsize=4096)  # the same few names, output after output
def sysv_hash(name: bytes) -> int:
    h = 0
    for ch in name:
        h = ((h << 4) + ch) & 0xFFFFFFFF
        g = h & 0xF0000000
        h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


@functools.lru_cache(maxsize=4096)
def gnu_hash(name: bytes) -> int:
    h = 5381
    for ch in name:
        h = (h * 33 + ch) & 0xFFFFFFFF
    return h


def _words(img: ElfImage, addr: int, count: int, where: str) -> tuple[int, ...] | None:
    raw = img.read_vaddr(addr, 4 * count)
    return None if raw is None else struct.unpack(f"{img.endian}{count}I", raw)


@rule("ELF-HASH-SYSV", TOPIC,
      "DT_HASH's nchain equals the .dynsym count and every named symbol is on the chain of "
      "its bucket", f"{GABI}, {DL_LOOKUP}")
def sysv(img: ElfImage) -> Iterator[Finding]:
    addr = dyn_value(img, c.DT_HASH)
    if addr is None:
        return
    head = _words(img, addr, 2, "DT_HASH")
    if head is None:
        yield "DT_HASH", f"{addr:#x} is not mapped"
        return
    nbucket, nchain = head
    table = _words(img, addr + 8, nbucket + nchain, "DT_HASH")
    if table is None or nbucket == 0:
        yield ".hash", f"nbucket {nbucket} / nchain {nchain} do not fit the mapped file"
        return
    buckets, chains = table[:nbucket], table[nbucket:]
    syms = dynsym(img)
    if syms and nchain != len(syms):
        yield ".hash", f"nchain {nchain} differs from the .dynsym count {len(syms)}"
    # Walk every chain once; an index met twice means a loop or two chains sharing a tail.
    owner: dict[int, int] = {}
    for b, start in enumerate(buckets):
        i = start
        while i != 0:
            if i >= nchain:
                yield f".hash bucket[{b}]", f"chain reaches index {i}, past nchain {nchain}"
                break
            if i in owner:
                yield f".hash bucket[{b}]", f"chain revisits symbol index {i}"
                break
            owner[i] = b
            i = chains[i]
    for sym in syms[1:]:
        if not sym.name or sym.bind == STB_LOCAL:
            continue  # ld.so never looks a local up (gold lists local TLS symbols it names
            # in dynamic relocations, and hashes them nowhere)
        want = sysv_hash(sym.name.encode("latin-1")) % nbucket
        if owner.get(sym.index) != want:
            yield f".dynsym[{sym.index}]", f"{sym.name!r} is not on the chain of bucket {want}"


@rule("ELF-HASH-GNU", TOPIC,
      "DT_GNU_HASH: a power-of-two bloom filter with both bits of every symbol ld.so may "
      "return (defined, or with a canonical PLT address) at or past symoffset set, and each "
      "on its bucket's chain with a matching hash",
      DL_LOOKUP)
def gnu(img: ElfImage) -> Iterator[Finding]:
    addr = dyn_value(img, c.DT_GNU_HASH)
    syms = dynsym(img)
    if addr is None or not syms:
        return
    head = _words(img, addr, 4, "DT_GNU_HASH")
    if head is None:
        yield "DT_GNU_HASH", f"{addr:#x} is not mapped"
        return
    nbuckets, symoffset, bloom_size, shift = head
    if symoffset > len(syms) or nbuckets == 0:
        yield ".gnu.hash", (f"symoffset {symoffset} / nbuckets {nbuckets} do not fit "
                           f"{len(syms)} symbols")
        return
    if bloom_size == 0 or bloom_size & (bloom_size - 1):
        yield ".gnu.hash", f"bloom size {bloom_size} is not a power of two"
        return
    bits = 8 * img.word
    bloom_raw = img.read_vaddr(addr + 16, bloom_size * img.word)
    rest = _words(img, addr + 16 + bloom_size * img.word, nbuckets + len(syms) - symoffset,
                  "DT_GNU_HASH")
    if bloom_raw is None or rest is None:
        yield ".gnu.hash", "tables do not fit the mapped file"
        return
    bloom = struct.unpack(f"{img.endian}{bloom_size}{img.fmt_word()}", bloom_raw)
    buckets, chain = rest[:nbuckets], rest[nbuckets:]
    for sym in syms[symoffset:]:
        if sym.shndx == c.SHN_UNDEF and sym.value == 0:
            continue  # glibc never returns it (a canonical PLT address it does return)
        h = gnu_hash(sym.name.encode("latin-1"))
        word = bloom[(h // bits) % bloom_size]
        if not (word >> (h % bits)) & 1 or not (word >> ((h >> shift) % bits)) & 1:
            yield f".dynsym[{sym.index}]", f"{sym.name!r}: bloom filter bits are clear"
            continue
        i = buckets[h % nbuckets]
        if i < symoffset:
            yield f".dynsym[{sym.index}]", (f"{sym.name!r}: bucket {h % nbuckets} starts at "
                                           f"{i}, before symoffset {symoffset}")
            continue
        found = False
        while i < len(syms):
            value = chain[i - symoffset]
            if i == sym.index:
                found = (value | 1) == (h | 1)
                break
            if value & 1:
                break
            i += 1
        if not found:
            yield f".dynsym[{sym.index}]", (f"{sym.name!r} is not found on the chain of "
                                           f"bucket {h % nbuckets} with its hash")
