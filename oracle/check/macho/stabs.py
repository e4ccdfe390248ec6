"""Debug-map rules: the stabs through which dsymutil and debuggers find a program's DWARF.

A Mach-O linker leaves the DWARF in the objects and writes, at the start of the symbol
table, one unit of stabs per object: N_SO entries naming the source (ld64: the directory,
then the file; ld64.lld: one joined path), an N_OSO naming the object (its absolute path,
`lib.a(member.o)` for an archive member; n_value its modification time), then one entry
group per symbol, then an N_SO with an empty name (today's ld64 also writes one before
the first unit).  dsymutil reads a function as N_FUN name/address followed by an unnamed
N_FUN whose value is its size, with N_SOL entries (included files) between them (ld64
brackets the pair with N_BNSYM/N_ENSYM, the N_ENSYM holding the size in older releases and
the address in today's; ld64.lld writes neither), a global variable as N_GSYM (ld64 writes
its n_value 0, ld64.lld its address), a static one as N_STSYM with its address.

What dsymutil does with a wrong map is silent: a stab before any N_OSO belongs to no
object and is dropped, an address that is not the function's maps that DWARF onto other
code.  These rules are no stricter than dsymutil and the debuggers: both stab forms are
accepted, and an N_OSO whose file is not on this machine is not judged (the objects of a
program built elsewhere are normally gone).

    debug_map_units(img) -> list[Unit]      the map, for other judges (the fuzzers)
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from oracle.check.macho.registry import Finding, MachOFile, rule
from oracle.emulate.macho import image as mi

TOPIC = "stabs"
DSYMUTIL = "llvm dsymutil MachODebugMapParser; ld64 OutputFile::synthesizeDebugNotes"
N_GSYM, N_FUN, N_STSYM, N_LCSYM, N_BNSYM = 0x20, 0x24, 0x26, 0x28, 0x2E
N_ENSYM, N_SO, N_OSO = 0x4E, 0x64, 0x66
SYMBOL_STABS = (N_GSYM, N_FUN, N_STSYM, N_LCSYM, N_BNSYM, N_ENSYM)
S_ATTR_INSTRUCTIONS = 0x80000400  # S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS
MH_OBJECT, AR_MAGIC = 1, b"!<arch>\n"
FAT_MAGICS = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")  # FAT_MAGIC, FAT_MAGIC_64


@dataclass
class Unit:
    """One object's stabs: its sources (N_SO names), its N_OSO, and its symbol stabs."""

    sources: list[str] = field(default_factory=list)
    objects: list[mi.Symbol] = field(default_factory=list)  # N_OSO entries (one expected)
    entries: list[mi.Symbol] = field(default_factory=list)
    closed: bool = False


def debug_map_units(img: mi.MachOImage) -> list[Unit]:
    """The stabs, cut into units at each closing N_SO.  Symbol stabs met outside a unit
    form a unit of their own with no sources and no N_OSO (MACHO-STAB-UNIT reports it)."""
    units: list[Unit] = []
    current: Unit | None = None
    for sym in img.symbols():
        if not sym.type & mi.N_STAB or sym.type not in (N_SO, N_OSO, *SYMBOL_STABS):
            continue  # N_SOL (an included file), N_OPT and the rest say nothing of addresses
        if sym.type == N_SO and not sym.name:
            if current is not None:  # (today's ld64 also opens the map with one)
                current.closed = True
            current = None
            continue
        if current is None:
            current = Unit()
            units.append(current)
        if sym.type == N_SO:
            if current.objects or current.entries:  # a new unit that the last did not close
                current = Unit()
                units.append(current)
            current.sources.append(sym.name)
        elif sym.type == N_OSO:
            current.objects.append(sym)
        elif sym.type in SYMBOL_STABS:
            current.entries.append(sym)
    return units


def _defined_by_name(img: mi.MachOImage) -> dict[str, int | None]:
    """Address of each name the table defines in a section (None: defined twice)."""
    out: dict[str, int | None] = {}
    for sym in img.symbols():
        if sym.defined_in_section and sym.name:
            out[sym.name] = None if sym.name in out else sym.value
    return out


def _size_stab(entries: list[mi.Symbol], k: int) -> mi.Symbol | None:
    """The unnamed N_FUN right after the named N_FUN entries[k]: it holds the function's
    size.  None where the next entry is anything else."""
    after = entries[k + 1] if k + 1 < len(entries) else None
    return after if after is not None and after.type == N_FUN and not after.name else None


def _named_section(sections: list[mi.Section], sym: mi.Symbol) -> mi.Section | None:
    """The section a stab's n_sect (1-based) names; None where it names none."""
    return sections[sym.sect - 1] if 1 <= sym.sect <= len(sections) else None


def _units(f: MachOFile) -> list[Unit]:
    """debug_map_units of the file, made once per check: four rules walk them (read only)."""
    found = f.memo.get("debug_map_units")
    if found is None:
        found = f.memo["debug_map_units"] = debug_map_units(f.img)
    return found  # type: ignore[return-value]


@rule("MACHO-STAB-UNIT", TOPIC,
      "each debug-map unit names its source (N_SO), then exactly one object (N_OSO) before "
      "its symbols, and is closed by an N_SO with no name: dsymutil drops a symbol stab "
      "that no N_OSO precedes", DSYMUTIL)
def stab_units(f: MachOFile) -> Iterator[Finding]:
    for n, unit in enumerate(_units(f)):
        where = f"debug-map unit {n}" + (f" ({unit.sources[-1]})" if unit.sources else "")
        if not unit.sources:
            yield where, "stabs with no N_SO naming their source"
        if len(unit.objects) != 1:
            yield where, f"{len(unit.objects)} N_OSO entries (one object per unit)"
        elif unit.entries and unit.entries[0].index < unit.objects[0].index:
            yield where, (f"symbol stab {unit.entries[0].index} comes before the N_OSO: "
                          "it belongs to no object")
        if not unit.closed:
            yield where, "not closed by an unnamed N_SO"
        yield from _function_groups(where, unit.entries)


def _function_groups(where: str, entries: list[mi.Symbol]) -> Iterator[Finding]:
    """A named N_FUN is followed by its unnamed size N_FUN; N_BNSYM/N_ENSYM, when
    written, bracket the pair at the function's address and with its size."""
    for k, sym in enumerate(entries):
        if sym.type != N_FUN or not sym.name:
            continue
        after = _size_stab(entries, k)
        if after is None:
            yield f"{where}: N_FUN {sym.name}", "not followed by the N_FUN holding its size"
            continue
        before = entries[k - 1] if k else None
        if before is not None and before.type == N_BNSYM and before.value != sym.value:
            yield f"{where}: N_FUN {sym.name}", (f"N_BNSYM at {before.value:#x}, the function "
                                                 f"at {sym.value:#x}")
        end = entries[k + 2] if k + 2 < len(entries) else None
        if end is not None and end.type == N_ENSYM and end.value not in (after.value,
                                                                         sym.value):
            yield f"{where}: N_FUN {sym.name}", (f"N_ENSYM {end.value:#x} is neither its size "
                                                 f"{after.value:#x} nor its address")


@rule("MACHO-STAB-FUN", TOPIC,
      "a function's N_FUN lies, with its size, inside a code section (the one its n_sect "
      "names, or MACHO-STAB-FUN-SECT warns), at the address the symbol table gives the "
      "same name", DSYMUTIL)
def stab_functions(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    sections = img.sections()
    defined = _defined_by_name(img)
    for where, sym, sect, size in _function_stabs(f):
        if sect is None:
            yield where, f"n_sect {sym.sect} names no section (there are {len(sections)})"
            continue
        if not sect.flags & S_ATTR_INSTRUCTIONS:
            yield where, f"{sect.name} holds no instructions"
        if not _inside(sect, sym.value, size) and _code_section_holding(
                sections, sym.value, size) is None:
            yield where, (f"[{sym.value:#x}, +{size:#x}) is not inside {sect.name} "
                          f"[{sect.addr:#x}, {sect.addr + sect.size:#x}) nor any other code "
                          "section")
        address = defined.get(sym.name)
        if address is not None and address != sym.value:
            yield where, f"value {sym.value:#x}, the symbol {sym.name} is at {address:#x}"


@rule("MACHO-STAB-FUN-SECT", TOPIC,
      "a function's N_FUN names in n_sect the code section that holds it (a warning: ld64 of "
      "Xcode 5 wrote __text's number for functions gcc put in __text_startup, as in the "
      "libgcc_s and libgfortran dylibs numpy and scipy wheels ship, while their N_BNSYM has "
      "the right one; dsymutil and the debuggers read only n_value)", DSYMUTIL,
      severity="warning")
def stab_function_sections(f: MachOFile) -> Iterator[Finding]:
    sections = f.img.sections()
    for where, sym, sect, size in _function_stabs(f):
        if sect is None or _inside(sect, sym.value, size):
            continue
        holder = _code_section_holding(sections, sym.value, size)
        if holder is not None:
            yield where, (f"n_sect {sym.sect} names {sect.name}, but [{sym.value:#x}, "
                          f"+{size:#x}) is in {holder.name}")


def _function_stabs(f: MachOFile
                    ) -> Iterator[tuple[str, mi.Symbol, mi.Section | None, int]]:
    """Each named N_FUN: (where, the stab, the section its n_sect names, its size)."""
    sections = f.img.sections()
    for unit in _units(f):
        for k, sym in enumerate(unit.entries):
            if sym.type != N_FUN or not sym.name:
                continue
            size_stab = _size_stab(unit.entries, k)
            yield (f"symbol {sym.index} N_FUN {sym.name}", sym, _named_section(sections, sym),
                   0 if size_stab is None else size_stab.value)


def _inside(sect: mi.Section, start: int, size: int) -> bool:
    return sect.addr <= start and start + size <= sect.addr + sect.size


def _code_section_holding(sections: list[mi.Section], start: int, size: int
                          ) -> mi.Section | None:
    return next((s for s in sections if s.flags & S_ATTR_INSTRUCTIONS
                 and _inside(s, start, size)), None)


@rule("MACHO-STAB-DATA", TOPIC,
      "N_GSYM is at its symbol's address (or 0 in n_sect 0, ld64's form); N_STSYM lies in "
      "the section its n_sect names", DSYMUTIL)
def stab_data(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    sections = img.sections()
    defined = _defined_by_name(img)
    for unit in _units(f):
        for sym in unit.entries:
            where = f"symbol {sym.index} {'N_GSYM' if sym.type == N_GSYM else 'N_STSYM'} " \
                    f"{sym.name}"
            if sym.type == N_GSYM:
                if sym.sect == 0 and sym.value == 0:
                    continue
                address = defined.get(sym.name)
                if address is not None and address != sym.value:
                    yield where, f"value {sym.value:#x}, the symbol is at {address:#x}"
                elif sym.name not in defined:
                    yield where, "names no symbol the table defines"
            elif sym.type in (N_STSYM, N_LCSYM):
                sect = _named_section(sections, sym)
                if sect is None:
                    yield where, f"n_sect {sym.sect} names no section"
                    continue
                if not sect.addr <= sym.value < sect.addr + max(sect.size, 1):
                    yield where, f"value {sym.value:#x} is outside {sect.name}"


@rule("MACHO-STAB-OSO", TOPIC,
      "each N_OSO names an object by absolute path (an archive member as lib.a(m.o)); when "
      "that file is on this machine, it is an MH_OBJECT of the image's CPU (or a universal "
      "file holding one, or an archive holding the member) and n_value is its modification "
      "time (0: not recorded; lldb will not load an object whose time differs)",
      DSYMUTIL)
def stab_objects(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    for unit in _units(f):
        for oso in unit.objects:
            where = f"symbol {oso.index} N_OSO {oso.name}"
            if not oso.name.startswith("/"):
                yield where, "not an absolute path"
                continue
            problem = _object_problem(oso, img.cputype)
            if problem:
                yield where, problem


def _object_problem(oso: mi.Symbol, cputype: int) -> str | None:
    path, member = oso.name, None
    if path.endswith(")") and "(" in path and not os.path.exists(path):
        path, _, member = path[:-1].partition("(")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # a device or a pipe named by a hostile file is never opened
        with open(path, "rb") as fh:
            head = fh.read(8)
            universal = head[:4] in FAT_MAGICS
            if universal and member is not None:
                return None  # a universal archive's members are not looked into
            if universal:  # a universal object: dsymutil takes the image's slice
                if not _fat_has(fh, head, cputype):
                    return "a universal file without the image's CPU type"
            elif member is not None:
                if head != AR_MAGIC:
                    return f"{path} is not an archive"
                found = _member_header(fh, member)
                if found is None:
                    return f"{path} has no member {member}"
                mtime, head = found
            if member is None:
                mtime = int(os.fstat(fh.fileno()).st_mtime)
    except OSError:
        return None  # not on this machine: dsymutil warns, and so may a human; we cannot judge
    if not universal and (len(head) < 8 or struct.unpack_from("<I", head)[0] not in
                          (0xFEEDFACE, 0xFEEDFACF)
                          or struct.unpack_from("<i", head, 4)[0] != cputype):
        return "does not name a Mach-O object of the image's CPU type"
    if oso.value and oso.value != mtime:
        return f"n_value {oso.value} is not the object's modification time {mtime}"
    return None


def _fat_has(fh: BinaryIO, head: bytes, cputype: int) -> bool:
    """Whether a universal file's header lists `cputype` (fat_arch or fat_arch_64)."""
    count = min(struct.unpack_from(">I", head, 4)[0], 64)
    size = 32 if head[:4] == FAT_MAGICS[1] else 20
    table = fh.read(count * size)
    return any(struct.unpack_from(">i", table, k * size)[0] == cputype
               for k in range(len(table) // size))


def _member_header(fh: BinaryIO, member: str) -> tuple[int, bytes] | None:
    """(mtime, first 8 bytes) of the archive member named `member` (BSD #1/ or SysV names)."""
    while True:
        header = fh.read(60)
        if len(header) < 60:
            return None
        name = header[:16].decode("latin-1").rstrip(" ")
        text = header[48:58].decode("ascii", "replace").strip()
        if not text.isdigit():
            return None
        size = int(text)
        date = header[16:28].decode("ascii", "replace").strip()
        body_at = fh.tell()
        skip = 0
        if name.startswith("#1/") and name[3:].isdigit():
            skip = int(name[3:])
            name = fh.read(skip).rstrip(b"\0").decode("utf-8", "replace")
        else:
            name = name.removesuffix("/")
        if name == member:
            return (int(date) if date.isdigit() else 0), fh.read(8)
        fh.seek(body_at + size + (size & 1))
