"""Where each input section landed in the output.

Evidence, strongest first: symbols defined in the section (a section holding `X` at offset
o lands at addr(X) - o); the linker's JSON link map, as a hint only; finally a search for
the section's bytes in the output.  Every candidate is confirmed against the output bytes,
with the relocated fields (and the opcode bytes that relaxations may rewrite) masked out.
A section can keep several confirmed candidates (say, two identical 8-byte constants); the
checker then accepts the one on which every field agrees.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Iterable
from dataclasses import dataclass

from oracle.records import quick_init

from .elf_file import SHF_TLS
from .image import OutputImage
from .inputs import InputObject, InputSection
from .types import TLS_TYPES, lookup

MAX_CANDIDATES = 16

# Output section names an input section may be merged into: .text.hot -> .text, etc.
_PREFIXES = (".text", ".rodata", ".data.rel.ro", ".data", ".bss", ".tdata", ".tbss",
             ".init_array", ".fini_array", ".ctors", ".dtors", ".gcc_except_table")


@quick_init
@dataclass(frozen=True)
class Placement:
    candidates: tuple[int, ...]  # confirmed output addresses, best first
    how: str  # "symbol", "map", "references" (see linked.py), "content", "" when unplaced


def relocated_mask(obj: InputObject, sec: InputSection) -> bytearray:
    """1 for every byte of `sec` the linker may legitimately change.  A SHT_NOBITS section
    has no bytes to compare (and its size may be anything: a hostile 1 GiB .bss once cost a
    1 GiB mask here), so its mask is empty."""
    mask = bytearray(0 if sec.nobits else sec.size)
    tls = TLS_TYPES[obj.machine]
    for rel in obj.relocs_by_section.get(sec.index, ()):
        info = lookup(obj.machine, rel.type)
        width = info.width if info is not None else 8  # unknown: assume the widest field
        lo, hi = rel.offset, rel.offset + width
        if info is not None and info.relaxable:
            lo, hi = rel.offset - 3, rel.offset + 5  # opcode rewrites, a trailing nop
        elif rel.type in tls:
            lo, hi = rel.offset - 12, rel.offset + 16  # TLS sequences are rewritten
        lo, hi = max(lo, 0), min(hi, len(mask))
        if lo < hi:
            mask[lo:hi] = b"\x01" * (hi - lo)
    return mask


def is_evidence(obj: InputObject, sec: InputSection) -> bool:
    """Whether finding the section's bytes proves anything: it has bytes of its own that
    no relocation may change (a lone pointer, or .bss, would match almost anywhere)."""
    return not sec.nobits and relocated_mask(obj, sec).count(0) >= 2


def output_names_for(name: str) -> tuple[str, ...]:
    names = [name]
    for prefix in _PREFIXES:
        if name.startswith(prefix + ".") and prefix not in names:
            names.append(prefix)
    return tuple(names)


def matches_at(image: OutputImage, sec: InputSection, mask: bytearray, addr: int) -> bool:
    if sec.align > 1 and addr % sec.align:
        return False
    out = image.section_at(addr, max(sec.size, 1), tls=bool(sec.flags & SHF_TLS))
    if out is None:
        return False
    if sec.nobits:
        return True
    got = image.read(addr, sec.size)
    if got is None or len(got) != sec.size:  # a truncated output section cannot match
        return False
    if len(sec.data) != sec.size or len(mask) != sec.size:  # nor a truncated input's
        return False
    if got == sec.data:
        return True
    # Every byte no relocation may change is equal: the XOR of the two, as one integer,
    # has no bit under the mask's unrelocated bytes (0xff where the mask holds 0).  Plain
    # ints: numpy's fixed cost per call exceeded the comparison for a section's few bytes.
    differs = int.from_bytes(got, "little") ^ int.from_bytes(sec.data, "little")
    return not differs & int.from_bytes(mask.translate(_UNRELOCATED), "little")


_UNRELOCATED = bytes([0xFF]) + bytes(255)  # relocated_mask byte -> 0xff where it is 0


def mirrored_in(sec: InputSection, out_name: str) -> bool:
    """Whether the words of `sec` land reversed in an output section named `out_name`: GNU
    ld copies a .ctors/.dtors input into .init_array/.fini_array word by word in reverse
    (a .ctors list runs from its end, an .init_array from its start)."""
    return sec.name.startswith((".ctors", ".dtors")) and \
        out_name in (".init_array", ".fini_array")


def placed_offset(image: OutputImage, sec: InputSection, offset: int, base: int) -> int:
    """Where the field at `offset` of `sec`, placed at `base`, lands relative to `base`."""
    out = image.section_at(base)
    if out is None or not mirrored_in(sec, out.name):
        return offset
    return mirrored_offset(sec, offset, image.word)


def mirrored_offset(sec: InputSection, offset: int, word: int) -> int:
    """Where the field at `offset` lands when the section's words are copied in reverse."""
    within = offset % word
    return sec.size - word - (offset - within) + within


def _longest_fixed_run(mask: bytearray) -> tuple[int, int]:
    """(offset, length) of the longest stretch of bytes no relocation may change."""
    best = (0, 0)
    at = 0
    for masked, group in itertools.groupby(mask):
        length = len(list(group))
        if not masked and length > best[1]:
            best = (at, length)
        at += length
    return best


def _content_candidates(image: OutputImage, sec: InputSection, mask: bytearray) -> list[int]:
    """Addresses where the section's bytes (relocated fields aside) appear, same-named
    output sections first: the longest fixed run is searched, each hit then confirmed."""
    if sec.nobits or not sec.size:
        return []
    run_at, run_len = _longest_fixed_run(mask)
    needle = sec.data[run_at:run_at + run_len]
    names = output_names_for(sec.name)
    preferred = [s for s in image.sections if s.name in names and not s.nobits]
    others = [s for s in image.sections if s.name not in names and not s.nobits]
    found: list[int] = []
    step = max(sec.align, 1)
    for group in (preferred, others):
        for out in group:
            if not needle:  # every byte relocated: any aligned slot of a same-named section
                if group is preferred:
                    for o in range(-out.addr % step, out.size - sec.size + 1, step):
                        if len(found) >= MAX_CANDIDATES:
                            break
                        found.append(out.addr + o)  # nothing to compare: all are alike
                continue
            hit = out.data.find(needle)
            while hit >= 0 and len(found) < MAX_CANDIDATES:
                addr = out.addr + hit - run_at
                if matches_at(image, sec, mask, addr):
                    found.append(addr)
                hit = out.data.find(needle, hit + 1)
        if found:
            break
    return found[:MAX_CANDIDATES]


def _symbol_candidates(image: OutputImage, obj: InputObject, sec: InputSection,
                       file_ordinal: int, lost: Container[int]) -> list[int]:
    votes: dict[int, int] = {}
    for sym in obj.symbols_by_section.get(sec.index, ()):
        if sym.type in ("STT_SECTION", "STT_FILE") or sym.index in lost:
            continue  # a weak definition that lost names the winner's address, not ours
        if not sym.name or sym.name.startswith(".L"):
            continue
        for value in _output_values(image, obj, sym.name, sym.bind, file_ordinal):
            base = value - sym.value
            votes[base] = votes.get(base, 0) + 1
    return sorted(votes, key=lambda b: -votes[b])


def _output_values(image: OutputImage, obj: InputObject, name: str, bind: str,
                   file_ordinal: int) -> Iterable[int]:
    if bind != "STB_LOCAL":
        sym = image.globals.get(name)
        if sym is not None and sym.defined:
            return [sym.value]
        # hidden globals become locals in the output
        return [s.value for s in image.locals.get(name, [])]
    if obj.file_name is not None and image.file_groups:
        # the output keeps STT_FILE groups: only this file's locals can be this file's
        groups = [g for f, g in image.file_groups if f == obj.file_name]
        if file_ordinal < len(groups):
            return [s.value for s in groups[file_ordinal].get(name, [])]
        if groups:
            return []
    return [s.value for s in image.locals.get(name, [])]


def place_section(image: OutputImage, obj: InputObject, sec: InputSection, file_ordinal: int,
                  hint: int | None, lost: Container[int] = ()) -> Placement:
    """Where `sec` went; `lost` are indices of the object's symbols that do not name it
    in the output (weak definitions another object overrode)."""
    mask = relocated_mask(obj, sec)
    by_symbol = _symbol_candidates(image, obj, sec, file_ordinal, lost)
    confirmed = [a for a in by_symbol if matches_at(image, sec, mask, a)]
    # a confirmed map hint stays a candidate too: the checker keeps the placement on
    # which the fields agree, so a wrong symbol anchor cannot hide the right one
    if hint is not None and hint not in confirmed and matches_at(image, sec, mask, hint):
        confirmed.append(hint)
    if confirmed:
        return Placement(tuple(confirmed[:MAX_CANDIDATES]), "symbol" if by_symbol and
                         confirmed[0] in by_symbol else "map")
    found = _content_candidates(image, sec, mask)
    return Placement(tuple(found), "content" if found else "")
