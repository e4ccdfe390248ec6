"""The checker's facts are judged by the reference linkers' outputs, not by linkharness's.

The oracle keeps its own copy of facts that the linker also carries (the two ELF hash
functions here). A fact wrong in both would pass every check of linkharness's output; it
must show up instead as a correct reference output "failing". Each test below gives the
oracle a plausible wrong fact and requires that GNU ld's, gold's, lld's and mold's outputs
are then reported, so the standing test `test_reference_output_is_clean` is what guards
the fact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from oracle.check import check
from oracle.check.rules import hashes

# Slips an author of a hash function makes: a wrong seed, a missing mask, a shift off by one.
WRONG_GNU: dict[str, Callable[[bytes], int]] = {
    "seed 5380": lambda name: _djb(name, 5380),
    "times 31": lambda name: _djb(name, 5381, 31),
}
WRONG_SYSV: dict[str, Callable[[bytes], int]] = {
    "shift 5": lambda name: _elf_hash(name, 5),
    "high nibble kept": lambda name: _elf_hash(name, 4, clear=False),
}
LAZY = [f"{v}/imports" for v in ("x64-bfd-lazy", "x64-gold-lazy", "x64-lld-lazy",
                                 "x64-mold-lazy", "x32-bfd-lazy", "x32-lld-lazy")]
# lld sizes .hash with a power-of-two bucket count (16 here); modulo 16 the SysV hash keeps
# only the last character's low nibble, which none of these slips changes. The linkers
# with odd bucket counts (bfd, gold, mold) are the ones that judge this fact.
ODD_BUCKETS = [k for k in LAZY if "-lld-" not in k]


def _djb(name: bytes, seed: int, factor: int = 33) -> int:
    h = seed
    for ch in name:
        h = (h * factor + ch) & 0xFFFFFFFF
    return h


def _elf_hash(name: bytes, shift: int, clear: bool = True) -> int:
    h = 0
    for ch in name:
        h = ((h << shift) + ch) & 0xFFFFFFFF
        g = h & 0xF0000000
        h ^= g >> 24
        if clear:
            h &= ~g & 0xFFFFFFFF
    return h


def _rule_ids(data: bytes) -> set[str]:
    return {v.rule for v in check(data)}


@pytest.mark.parametrize("key", LAZY)
def test_the_true_hashes_accept_every_reference(built: Any, key: str) -> None:
    assert not {r for r in _rule_ids(built.bytes(key)) if r.startswith("ELF-HASH")}


@pytest.mark.parametrize("slip", sorted(WRONG_GNU))
@pytest.mark.parametrize("key", LAZY)
def test_a_wrong_gnu_hash_fails_the_references(built: Any, key: str, slip: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashes, "gnu_hash", WRONG_GNU[slip])
    assert any(r.startswith("ELF-HASH-GNU") for r in _rule_ids(built.bytes(key)))


@pytest.mark.parametrize("slip", sorted(WRONG_SYSV))
@pytest.mark.parametrize("key", ODD_BUCKETS)
def test_a_wrong_sysv_hash_fails_the_references(built: Any, key: str, slip: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashes, "sysv_hash", WRONG_SYSV[slip])
    assert any(r.startswith("ELF-HASH-SYSV") for r in _rule_ids(built.bytes(key)))
