"""Where the fields of a valid input are: the header, section and program headers, symbol
and relocation entries of an ELF file (32 or 64), the header, load commands, sections,
nlist and relocation entries of a Mach-O file, the member headers of an `ar` archive (its
sizes are ASCII decimal), the lines of a text input (.tbd, linker script).

The mutator aims at these fields: a value set to 0, all-ones or past the end in a count,
size or offset field reaches code that a random bit flip in section bytes almost never
does.  Parsing here is our own (fuzz/ never imports linker internals) and tolerant: it
reads only the valid seeds it is given, and stops at anything it does not understand.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from .layout_deep import elf_contents, macho_contents

ASCII = "ascii"  # a decimal number in ASCII, space padded (ar member sizes, dates)
LITTLE = "le"  # a little-endian integer
BIG = "be"  # a big-endian integer (a Mach-O fat header's)


@dataclass(frozen=True)
class Field:
    """One field of a structure: `width` bytes at `offset`; `what` names it in reports;
    `count` marks a count, size or offset field (the mutator inflates those)."""

    offset: int
    width: int
    what: str
    encoding: str = LITTLE
    count: bool = False


@dataclass(frozen=True)
class Layout:
    """A seed's fields and structure boundaries (where truncation is interesting)."""

    fields: tuple[Field, ...]
    boundaries: tuple[int, ...]


def _u(data: bytes, fmt: str, offset: int) -> int:
    value: int = struct.unpack_from(fmt, data, offset)[0]
    return value


def _elf_fields(data: bytes, deep: bool = False) -> Layout:
    is64 = data[4] == 2
    word, fmt = (8, "<Q") if is64 else (4, "<I")
    fields: list[Field] = []
    bounds = {0, 16, 52 if not is64 else 64, len(data)}

    def add(offset: int, width: int, what: str, count: bool = False) -> None:
        if offset + width <= len(data):
            fields.append(Field(offset, width, what, count=count))

    # e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
    # e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    widths = [2, 2, 4, word, word, word, 4, 2, 2, 2, 2, 2, 2]
    names = ["e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff", "e_flags",
             "e_ehsize", "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx"]
    counts = {"e_phoff", "e_shoff", "e_phnum", "e_shnum", "e_shstrndx", "e_phentsize",
              "e_shentsize"}
    offset = 16
    header: dict[str, int] = {}
    for name, width in zip(names, widths, strict=True):
        add(offset, width, name, name in counts)
        header[name] = int.from_bytes(data[offset:offset + width], "little")
        offset += width
    add(4, 1, "EI_CLASS")
    add(5, 1, "EI_DATA")
    phoff, phnum, phentsize = header["e_phoff"], header["e_phnum"], header["e_phentsize"]
    for i in range(min(phnum, 64)):
        base = phoff + i * phentsize
        bounds.add(base)
        if is64:  # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
            layout = [(0, 4, "p_type"), (4, 4, "p_flags"), (8, 8, "p_offset"),
                      (16, 8, "p_vaddr"), (32, 8, "p_filesz"), (40, 8, "p_memsz"),
                      (48, 8, "p_align")]
        else:
            layout = [(0, 4, "p_type"), (4, 4, "p_offset"), (8, 4, "p_vaddr"),
                      (16, 4, "p_filesz"), (20, 4, "p_memsz"), (24, 4, "p_flags"),
                      (28, 4, "p_align")]
        for rel, width, what in layout:
            add(base + rel, width, f"phdr[{i}].{what}", what != "p_type")
    shoff, shnum, shentsize = header["e_shoff"], header["e_shnum"], header["e_shentsize"]
    sections = []
    for i in range(min(shnum, 256)):
        base = shoff + i * shentsize
        if base + shentsize > len(data):
            break
        bounds.add(base)
        if is64:
            sh = struct.unpack_from("<IIQQQQIIQQ", data, base)
            rels = [0, 4, 8, 16, 24, 32, 40, 44, 48, 56]
            ws = [4, 4, 8, 8, 8, 8, 4, 4, 8, 8]
        else:
            sh = struct.unpack_from("<IIIIIIIIII", data, base)
            rels = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]
            ws = [4] * 10
        for rel, width, what in zip(rels, ws, ["sh_name", "sh_type", "sh_flags", "sh_addr",
                                               "sh_offset", "sh_size", "sh_link", "sh_info",
                                               "sh_addralign", "sh_entsize"], strict=True):
            add(base + rel, width, f"shdr[{i}].{what}",
                what in ("sh_name", "sh_offset", "sh_size", "sh_link", "sh_info",
                         "sh_addralign", "sh_entsize"))
        sections.append((i, sh))
    for i, sh in sections:
        sh_type, sh_offset, sh_size, sh_entsize = sh[1], sh[4], sh[5], sh[9]
        if sh_type != 8:  # not SHT_NOBITS
            bounds.update({sh_offset, min(len(data), sh_offset + sh_size)})
        if sh_type == 2 and sh_entsize:  # SHT_SYMTAB
            for k in range(min(sh_size // sh_entsize, 200)):
                base = sh_offset + k * sh_entsize
                bounds.add(base)
                if is64:  # st_name, st_info, st_other, st_shndx, st_value, st_size
                    parts = [(0, 4, "st_name"), (4, 1, "st_info"), (5, 1, "st_other"),
                             (6, 2, "st_shndx"), (8, 8, "st_value"), (16, 8, "st_size")]
                else:
                    parts = [(0, 4, "st_name"), (4, 4, "st_value"), (8, 4, "st_size"),
                             (12, 1, "st_info"), (13, 1, "st_other"), (14, 2, "st_shndx")]
                for rel, width, what in parts:
                    add(base + rel, width, f"sym[{i}][{k}].{what}",
                        what in ("st_name", "st_shndx", "st_size"))
        if sh_type in (4, 9) and sh_entsize:  # SHT_RELA, SHT_REL
            for k in range(min(sh_size // sh_entsize, 200)):
                base = sh_offset + k * sh_entsize
                bounds.add(base)
                add(base, word, f"rel[{i}][{k}].r_offset", True)
                if is64:
                    add(base + 8, 4, f"rel[{i}][{k}].r_type")
                    add(base + 12, 4, f"rel[{i}][{k}].r_sym", True)
                    if sh_type == 4:
                        add(base + 16, 8, f"rel[{i}][{k}].r_addend")
                else:
                    add(base + 4, 1, f"rel[{i}][{k}].r_type")
                    add(base + 5, 3, f"rel[{i}][{k}].r_sym", True)
                    if sh_type == 4:
                        add(base + 8, 4, f"rel[{i}][{k}].r_addend")
        if sh_type == 6 and sh_entsize:  # SHT_DYNAMIC: every d_val
            for k in range(min(sh_size // sh_entsize, 64)):
                add(sh_offset + k * sh_entsize + word, word, f"dyn[{k}].d_val", True)
    del fmt
    if deep:
        try:
            elf_contents(data, is64, sections, add, bounds)
        except (struct.error, ValueError, IndexError, OverflowError):
            pass  # the fields found so far stand
    return Layout(tuple(fields), tuple(sorted(b for b in bounds if 0 <= b <= len(data))))


_MACHO_SECTION_PARTS = {
    True: [(32, 8, "addr"), (40, 8, "size"), (48, 4, "offset"), (52, 4, "align"),
           (56, 4, "reloff"), (60, 4, "nreloc"), (64, 4, "flags")],
    False: [(32, 4, "addr"), (36, 4, "size"), (40, 4, "offset"), (44, 4, "align"),
            (48, 4, "reloff"), (52, 4, "nreloc"), (56, 4, "flags")],
}


S_THREAD_LOCAL_VARIABLES = 0x13


def _macho_section_contents(data: bytes, header: int, offset: int, size: int, word: int,
                            add: Callable[..., None], bounds: set[int]) -> None:
    """Fields inside the contents the newer readers parse: a `__DWARF` compile unit's
    header and the first bytes of its DIEs and abbreviations (ULEB codes, forms; the
    debug map reads the unit's name and directory), and each word of a thread-local
    variables section (the descriptors: thunk, key, offset into the template)."""
    end = min(len(data), offset + size)
    segment = data[header + 16:header + 32].rstrip(b"\0")
    section = data[header:header + 16].rstrip(b"\0")
    flags = _u(data, "<I", header + (64 if word == 8 else 56))
    if segment == b"__DWARF":
        bounds.update(range(offset, end, 4))
        if section == b"__debug_info" and offset + 12 <= end:
            version = _u(data, "<H", offset + 4)
            add(offset, 4, "dwarf.unit_length", True)
            add(offset + 4, 2, "dwarf.version")
            if version >= 5:
                add(offset + 6, 1, "dwarf.unit_type")
                add(offset + 7, 1, "dwarf.address_size", True)
                add(offset + 8, 4, "dwarf.abbrev_offset", True)
                dies = offset + 12
            else:
                add(offset + 6, 4, "dwarf.abbrev_offset", True)
                add(offset + 10, 1, "dwarf.address_size", True)
                dies = offset + 11
            for at in range(dies, min(end, dies + 48)):
                add(at, 1, f"dwarf.die+{at - dies}", True)
        elif section in (b"__debug_abbrev", b"__debug_str"):
            for at in range(offset, min(end, offset + 48)):
                add(at, 1, f"dwarf.{section.decode()[8:]}+{at - offset}", True)
    elif flags & 0xFF == S_THREAD_LOCAL_VARIABLES:
        for at in range(offset, min(end, offset + 16 * 3 * word), word):
            bounds.add(at)
            add(at, word, f"tlv+{at - offset}", True)


def _macho_fields(data: bytes, deep: bool = False) -> Layout:
    is64 = _u(data, "<I", 0) == 0xFEEDFACF
    header_size = 32 if is64 else 28
    fields: list[Field] = []
    bounds = {0, header_size, len(data)}

    def add(offset: int, width: int, what: str, count: bool = False) -> None:
        if offset + width <= len(data):
            fields.append(Field(offset, width, what, count=count))

    for rel, what in [(4, "cputype"), (12, "filetype"), (16, "ncmds"), (20, "sizeofcmds"),
                      (24, "flags")]:
        add(rel, 4, what, what in ("ncmds", "sizeofcmds"))
    ncmds = _u(data, "<I", 16)
    at = header_size
    for i in range(min(ncmds, 64)):
        if at + 8 > len(data):
            break
        cmd, size = struct.unpack_from("<II", data, at)
        bounds.add(at)
        add(at, 4, f"lc[{i}].cmd")
        add(at + 4, 4, f"lc[{i}].cmdsize", True)
        if cmd in (0x19, 0x1):  # LC_SEGMENT_64, LC_SEGMENT
            seg64 = cmd == 0x19
            w = 8 if seg64 else 4
            hdr = 72 if seg64 else 56
            for rel, width, what in [(24, w, "vmaddr"), (24 + w, w, "vmsize"),
                                     (24 + 2 * w, w, "fileoff"), (24 + 3 * w, w, "filesize"),
                                     (hdr - 8, 4, "nsects"), (hdr - 4, 4, "flags")]:
                add(at + rel, width, f"lc[{i}].{what}", what != "flags")
            nsects = _u(data, "<I", at + hdr - 8) if at + hdr <= len(data) else 0
            sect_size = 80 if seg64 else 68
            for k in range(min(nsects, 32)):
                base = at + hdr + k * sect_size
                if base + sect_size > len(data):
                    break
                bounds.add(base)
                for rel, width, what in _MACHO_SECTION_PARTS[seg64]:
                    add(base + rel, width, f"sect[{k}].{what}", what != "flags")
                fmt = "<I"
                offset, reloff, nreloc = (_u(data, fmt, base + r) for r in
                                          ((48, 56, 60) if seg64 else (40, 48, 52)))
                bounds.add(offset)
                sect_bytes = _u(data, "<Q" if seg64 else "<I", base + (40 if seg64 else 36))
                _macho_section_contents(data, base, offset, sect_bytes, w, add, bounds)
                if deep:
                    macho_contents(data, data[base + 16:base + 32].rstrip(b"\0"),
                                   data[base:base + 16].rstrip(b"\0"), offset, sect_bytes, w,
                                   add, bounds)
                for r in range(min(nreloc, 200)):
                    entry = reloff + 8 * r
                    bounds.add(entry)
                    add(entry, 4, f"sect[{k}].reloc[{r}].r_address", True)
                    add(entry + 4, 4, f"sect[{k}].reloc[{r}].r_info", True)
        elif cmd == 0x2:  # LC_SYMTAB: symoff nsyms stroff strsize
            for rel, what in [(8, "symoff"), (12, "nsyms"), (16, "stroff"), (20, "strsize")]:
                add(at + rel, 4, f"symtab.{what}", True)
            symoff, nsyms, stroff = struct.unpack_from("<III", data, at + 8)
            entry_size = 16 if is64 else 12
            bounds.update({symoff, stroff})
            for k in range(min(nsyms, 200)):
                base = symoff + k * entry_size
                bounds.add(base)
                add(base, 4, f"nlist[{k}].n_strx", True)
                add(base + 4, 1, f"nlist[{k}].n_type")
                add(base + 5, 1, f"nlist[{k}].n_sect", True)
                add(base + 6, 2, f"nlist[{k}].n_desc")
                add(base + 8, 8 if is64 else 4, f"nlist[{k}].n_value")
        elif cmd == 0xB:  # LC_DYSYMTAB: 18 words after cmd/cmdsize
            for k in range(18):
                add(at + 8 + 4 * k, 4, f"dysymtab[{k}]", True)
        else:  # dyld info, LC_MAIN, linkedit data...: every word may be an offset or size
            for k in range(2, min(size // 4, 12)):
                add(at + 4 * k, 4, f"lc[{i}].word{k}", True)
            # the export trie (a dylib input's exports are read from it): its first nodes'
            # ULEB sizes, child counts, edge strings and offsets, byte by byte
            trie = {0x80000022: 40, 0x22: 40, 0x80000033: 8}.get(cmd)
            if trie is not None and at + trie + 8 <= len(data):
                trie_off, trie_size = struct.unpack_from("<II", data, at + trie)
                bounds.add(trie_off)
                for b in range(trie_off, min(len(data), trie_off + min(trie_size, 96))):
                    add(b, 1, f"trie+{b - trie_off}", True)
        if size < 8:
            break
        at += size
    return Layout(tuple(fields), tuple(sorted(b for b in bounds if 0 <= b <= len(data))))


def _ar_fields(data: bytes, deep: bool = False) -> Layout:
    fields: list[Field] = []
    bounds = {0, 8, len(data)}
    at = 8
    while at + 60 <= len(data):
        bounds.add(at)
        fields.append(Field(at, 16, "ar_name", ASCII))
        fields.append(Field(at + 48, 10, "ar_size", ASCII, count=True))
        try:
            size = int(data[at + 48:at + 58].decode().strip() or "0")
        except ValueError:
            break
        if data[at:at + 16].startswith(b"/ ") and size >= 4:  # the symbol index: its count
            fields.append(Field(at + 60, 4, "ar_index_count", count=True))
        if deep:
            _ar_member_fields(data, at, size, fields, bounds)
        at += 60 + size + (size & 1)
    return Layout(tuple(fields), tuple(sorted(b for b in bounds if b <= len(data))))


def _ar_member_fields(data: bytes, at: int, size: int, fields: list[Field],
                      bounds: set[int]) -> None:
    """A member's own fields (deep seeds): an ELF or Mach-O object's, after a BSD long name
    (`#1/N`: N name bytes open the member); a BSD symbol table's (`__.SYMDEF`) size and
    (name offset, member offset) pairs."""
    body, name = at + 60, data[at:at + 16]
    if name.startswith(b"#1/"):
        try:
            skip = int(name[3:].decode().strip())
        except ValueError:
            return
        fields.append(Field(at + 3, 13, "ar_bsd_name_length", ASCII, count=True))
        body, size = body + skip, size - skip
        name = data[at + 60:body]
    member = data[body:body + size]
    inner = Layout((), ())
    try:
        if name.startswith(b"__.SYMDEF") and len(member) >= 4:
            count = min(_u(member, "<I", 0) // 8, 64)
            parts = [Field(0, 4, "ranlib_size", count=True)]
            for k in range(count):
                parts += [Field(4 + 8 * k, 4, f"ranlib[{k}].strx", count=True),
                          Field(8 + 8 * k, 4, f"ranlib[{k}].off", count=True)]
            inner = Layout(tuple(p for p in parts if p.offset + 4 <= len(member)), (0,))
        elif member.startswith(b"\x7fELF") and len(member) >= 64:
            inner = _elf_fields(member, True)
        elif len(member) >= 32 and _u(member, "<I", 0) in (0xFEEDFACF, 0xFEEDFACE):
            inner = _macho_fields(member, True)
    except (struct.error, ValueError, IndexError, OverflowError):
        return
    fields += [Field(body + f.offset, f.width, f"member@{at:#x}.{f.what}", f.encoding, f.count)
               for f in inner.fields]
    bounds.update(body + b for b in inner.boundaries)


def _fat_fields(data: bytes) -> Layout:
    """A Mach-O universal file (deep seeds): nfat_arch, each fat_arch's big-endian cputype,
    offset, size and align, and each slice's own fields."""
    fields = [Field(4, 4, "nfat_arch", BIG, count=True)]
    bounds = {0, 8, len(data)}
    count = struct.unpack_from(">I", data, 4)[0]
    for k in range(min(count, 8)):
        at = 8 + 20 * k
        if at + 20 > len(data):
            break
        bounds.add(at)
        for rel, what in ((0, "cputype"), (8, "offset"), (12, "size"), (16, "align")):
            fields.append(Field(at + rel, 4, f"fat_arch[{k}].{what}", BIG, what != "cputype"))
        offset, size = struct.unpack_from(">II", data, at + 8)
        bounds.update({offset, min(offset + size, len(data))})
        try:
            inner = _macho_fields(data[offset:offset + size], True)
        except (struct.error, ValueError, IndexError, OverflowError):
            continue
        fields += [Field(offset + f.offset, f.width, f"slice[{k}].{f.what}", f.encoding,
                         f.count) for f in inner.fields]
        bounds.update(offset + b for b in inner.boundaries)
    return Layout(tuple(fields), tuple(sorted(b for b in bounds if 0 <= b <= len(data))))


def _text_fields(data: bytes) -> Layout:
    bounds = {0, len(data)}
    at = 0
    for line in data.splitlines(keepends=True):
        at += len(line)
        bounds.add(at)
    return Layout((), tuple(sorted(bounds)))


def layout_of(data: bytes, deep: bool = False) -> Layout:
    """The fields of a seed, by its magic.  A mutated input (stacked mutations re-read
    it) may not parse: then it has no fields, only line boundaries.  `deep`: the fields
    inside compiler-made contents too (fuzz.hostile.layout_deep)."""
    try:
        if data.startswith(b"\x7fELF") and len(data) >= 64:
            return _elf_fields(data, deep)
        if len(data) >= 32 and _u(data, "<I", 0) in (0xFEEDFACF, 0xFEEDFACE):
            return _macho_fields(data, deep)
        if data.startswith((b"!<arch>\n", b"!<thin>\n")):
            return _ar_fields(data, deep)
        if deep and data.startswith(b"\xca\xfe\xba\xbe") and len(data) >= 8:
            return _fat_fields(data)
    except (struct.error, ValueError, IndexError, OverflowError):
        pass
    return _text_fields(data)
