"""Debug information rules: the DWARF a debugger reads describes the code that was linked.

Read with pyelftools (DWARF 2 to 5).  A linker that relocates debug sections wrongly
leaves them readable but pointing elsewhere: a function's DW_AT_low_pc that is not its
symbol, a line-table row outside any code.  A reference to code the linker discarded (a
duplicate COMDAT copy) may hold a tombstone instead: 0, 1 (where 0 would end a DWARF 4
range list), or all ones / all ones but one (lld's -z dead-reloc-in-nonalloc forms); GNU
ld and gold point it at the kept copy instead.  Either is accepted, as debuggers accept
both.  The rules read at most a budget of DIEs and line rows, so a large -g program costs
a bounded time; they judge what they read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from oracle.check import consts as c
from oracle.check.image import ElfImage, per_image
from oracle.check.registry import Finding, rule
from oracle.check.tables import symbols

TOPIC = "dwarf"
DWARF5 = "DWARF 5 (dwarfstd.org)"
DIE_BUDGET = 20000
ROW_BUDGET = 50000
STT_FUNC = 2
SHF_COMPRESSED = 0x800
MAX_UNCOMPRESSED = 256 << 20  # a compressed section says it inflates past this: not read


def _tombstones(word: int) -> set[int]:
    ones = (1 << (8 * word)) - 1
    return {0, 1, ones, ones - 1}


@per_image
def _dwarf(img: ElfImage) -> Any:
    """pyelftools' DWARFInfo of the file, or None when it has no .debug_info; a string
    when it cannot be read (the reason)."""
    if img.section(".debug_info") is None:
        return None
    bomb = _decompression_bomb(img)
    if bomb is not None:
        return bomb
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(img.data))
        return elf.get_dwarf_info(relocate_dwarf_sections=False)
    except Exception as err:  # noqa: BLE001  (pyelftools raises many kinds on bad input)
        return f"{type(err).__name__}: {err}"


def _decompression_bomb(img: ElfImage) -> str | None:
    """pyelftools inflates every compressed debug section whole: a 2 MB zlib stream whose
    Elf_Chdr says 2 GiB took the checker 17 s and 4 GB.  Past MAX_UNCOMPRESSED, no DWARF
    is read (the reason is the finding)."""
    at = 8 if img.is64 else 4  # ch_size in Elf64_Chdr / Elf32_Chdr
    for s in img.sections:
        if s.flags & SHF_COMPRESSED and s.type != c.SHT_NOBITS:
            size = int.from_bytes(img.data[s.offset + at:s.offset + at + img.word], "little")
            if size > MAX_UNCOMPRESSED:
                return f"{s.name}: {size} bytes uncompressed (at most {MAX_UNCOMPRESSED})"
    return None


def _code_ranges(img: ElfImage) -> list[tuple[int, int, str]]:
    return [(s.addr, s.addr + s.size, s.name) for s in img.sections
            if s.flags & c.SHF_ALLOC and s.flags & c.SHF_EXECINSTR and s.size]


def _in_code(ranges: list[tuple[int, int, str]], start: int, end: int) -> bool:
    return any(lo <= start and end <= hi for lo, hi, _ in ranges)


def _name(die: Any, depth: int = 0) -> str | None:
    attrs = die.attributes
    for key in ("DW_AT_linkage_name", "DW_AT_MIPS_linkage_name", "DW_AT_name"):
        if key in attrs:
            value = attrs[key].value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
        if key in attrs and depth < 4:
            return _name(die.get_DIE_from_attribute(key), depth + 1)
    return None


def _high_pc(die: Any, low: int) -> int | None:
    attr = die.attributes.get("DW_AT_high_pc")
    if attr is None:
        return None
    # DWARF 4+: a constant class form is a length; an address form is the end itself.
    return low + int(attr.value) if attr.form != "DW_FORM_addr" else int(attr.value)


def _is_clone(name: str, names_here: set[str]) -> bool:
    """Whether a function symbol at this address is a compiler-made clone of `name`."""
    return any(n.startswith(name + ".") for n in names_here)


def _subprograms(dwarf: Any) -> Iterator[tuple[Any, int, int | None]]:
    """(DIE, low_pc, high_pc) of each subprogram with code, within the DIE budget."""
    seen = 0
    for cu in dwarf.iter_CUs():
        for die in cu.iter_DIEs():
            seen += 1
            if seen > DIE_BUDGET:
                return
            if die.tag != "DW_TAG_subprogram" or "DW_AT_low_pc" not in die.attributes:
                continue
            low = int(die.attributes["DW_AT_low_pc"].value)
            yield die, low, _high_pc(die, low)


def _unreadable(img: ElfImage) -> Iterator[Finding]:
    dwarf = _dwarf(img)
    if isinstance(dwarf, str):
        yield ".debug_info", f"the DWARF cannot be read: {dwarf}"


@rule("DWARF-READABLE", TOPIC,
      "the debug sections parse as DWARF (unit headers, abbreviations and string offsets "
      "in range): a debugger given a file whose offsets were relocated wrongly reads "
      "garbage or nothing", DWARF5)
def readable(img: ElfImage) -> Iterator[Finding]:
    yield from _unreadable(img)
    dwarf = _dwarf(img)
    if dwarf is None or isinstance(dwarf, str):
        return
    try:
        for _ in _subprograms(dwarf):
            pass
    except Exception as err:  # noqa: BLE001
        yield ".debug_info", f"the DIEs cannot be read: {type(err).__name__}: {err}"


@rule("DWARF-SUBPROGRAM-LOW-PC", TOPIC,
      "a function's DW_TAG_subprogram has DW_AT_low_pc equal to its symbol's address (or a "
      "tombstone, for a discarded copy), and [low_pc, high_pc) lies inside one executable "
      "section: that is where a debugger puts a breakpoint on it", DWARF5)
def subprogram_low_pc(img: ElfImage) -> Iterator[Finding]:
    dwarf = _dwarf(img)
    if dwarf is None or isinstance(dwarf, str):
        return
    funcs: dict[str, set[int]] = {}
    sizes: dict[tuple[str, int], int] = {}
    named: list[tuple[int, int]] = []
    names_at: dict[int, set[str]] = {}
    for sec in img.sections_of_type(c.SHT_SYMTAB):
        for sym in symbols(img, sec):
            if sym.type == STT_FUNC and sym.shndx != c.SHN_UNDEF and sym.name:
                funcs.setdefault(sym.name, set()).add(sym.value)
                names_at.setdefault(sym.value, set()).add(sym.name)
                sizes[(sym.name, sym.value)] = sym.size
                if sym.size:
                    named.append((sym.value, sym.value + sym.size))
    code = _code_ranges(img)
    dead = _tombstones(img.word)
    try:
        for die, low, high in _subprograms(dwarf):
            if low in dead:
                continue
            name = _name(die) or "?"
            where = f".debug_info+{die.offset:#x} ({name})"
            addresses = funcs.get(name)
            if addresses is not None and low not in addresses and _is_clone(
                    name, names_at.get(low, set())):
                # gcc's clones of a function (its out-of-line part after partial inlining,
                # `f.part.0`; `f.isra.0`, `f.constprop.0`, `f.cold`) each get a DIE whose
                # abstract origin names f, and whose low_pc is the clone's own symbol.
                addresses = None
            if addresses is not None and low not in addresses and not (
                    high is not None and _in_code(code, low, high)
                    and not any(a < high and low < b for a, b in named)):
                # (A weak copy that lost keeps its code and its DIE, with no symbol of its
                # own: GNU ld's low_pc names that code, which overlaps no named function.)
                yield where, (f"DW_AT_low_pc {low:#x}, but the symbol {name} is at "
                              + ", ".join(f"{a:#x}" for a in sorted(addresses)))
            else:
                if addresses is not None and high is not None \
                        and sizes.get((name, low), high - low) != high - low:
                    # The DIE describes a weak copy that lost to a definition of another
                    # size: its low_pc names the global symbol (the winner, as every
                    # linker resolves it), its length is the loser's.  Only low_pc counts.
                    high = low + 1
                if _in_code(code, low, high if high is not None else low + 1):
                    continue
                yield where, (f"[{low:#x}, {high if high is not None else low:#x}) is not "
                              "inside an executable section")
    except Exception:  # noqa: BLE001  (DWARF-READABLE reports it)
        return


@rule("DWARF-ARANGES-IN-CODE", TOPIC,
      "every .debug_aranges entry lies inside an executable section (or is a tombstone): "
      "debuggers find the unit of a pc through it", DWARF5)
def aranges_in_code(img: ElfImage) -> Iterator[Finding]:
    dwarf = _dwarf(img)
    if dwarf is None or isinstance(dwarf, str) or img.section(".debug_aranges") is None:
        return
    code = _code_ranges(img)
    dead = _tombstones(img.word)
    try:
        aranges = dwarf.get_aranges()
        entries = aranges.entries if aranges is not None else []
    except Exception as err:  # noqa: BLE001
        yield ".debug_aranges", f"cannot be read: {type(err).__name__}: {err}"
        return
    for entry in entries[:ROW_BUDGET]:
        if entry.length and entry.begin_addr not in dead \
                and not _in_code(code, entry.begin_addr, entry.begin_addr + entry.length):
            yield (f".debug_aranges (unit at .debug_info+{entry.info_offset:#x})",
                   (f"[{entry.begin_addr:#x}, +{entry.length:#x}) is not inside an "
                    "executable section"))


@rule("DWARF-LINE-ROWS", TOPIC,
      "each line-table sequence starts inside an executable section (or at a tombstone), "
      "its rows ascend, and it ends inside the same section: a pc maps to one line",
      DWARF5)
def line_rows(img: ElfImage) -> Iterator[Finding]:
    dwarf = _dwarf(img)
    if dwarf is None or isinstance(dwarf, str) or img.section(".debug_line") is None:
        return
    code = _code_ranges(img)
    dead = _tombstones(img.word)
    budget = ROW_BUDGET
    try:
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            if program is None:
                continue
            start: int | None = None
            last = 0
            for entry in program.get_entries():
                state = entry.state
                if state is None:
                    continue
                budget -= 1
                if budget < 0:
                    return
                where = f".debug_line+{program.program_start_offset:#x}"
                if start is None:
                    start = last = state.address
                    if start not in dead and not _in_code(code, start, start + 1):
                        yield where, (f"a sequence starts at {start:#x}, not inside an "
                                      "executable section")
                        start = -1  # reported once; skip its rows
                elif state.address < last and start != -1 and start not in dead:
                    yield where, (f"row address {state.address:#x} after {last:#x}: rows of "
                                  "a sequence must not descend")
                    start = -1
                last = max(last, state.address)
                if state.end_sequence:
                    if start not in (None, -1) and start not in dead and not any(
                            lo <= start and state.address <= hi for lo, hi, _ in code):
                        yield where, (f"the sequence [{start:#x}, {state.address:#x}) runs "
                                      "out of its section")
                    start = None
    except Exception as err:  # noqa: BLE001
        yield ".debug_line", f"cannot be read: {type(err).__name__}: {err}"
