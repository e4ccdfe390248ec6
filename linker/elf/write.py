"""Serialise an ElfImage: ELF header, program headers, section contents, .symtab, section
headers.  The only code that knows the ELF file layout of an executable."""

from __future__ import annotations

import functools
import itertools
import operator
import struct
from collections.abc import Iterable

import numpy as np

from ..layout import OutputSection, Segment
from ..model import (
    BIND_LOCAL,
    TYPE_FILE,
    TYPE_IFUNC,
    TYPE_SECTION,
    TYPE_TLS,
    Binding,
    SectionFlags,
    SymType,
)
from ..records import dataclass
from ..resolve import SymbolTable
from ..synth import SYNTHETIC_PATH
from ..targets import ElfLayout
from .dynamic import STB, STT, StringTable
from .emit_relocs import SHF_INFO_LINK, SymtabIndex, relocation_sections
from .image import SHT_STRTAB, ElfImage

STV_INTERNAL, STV_HIDDEN = 1, 2  # st_other visibilities (gABI)

SHT_SYMTAB = 2
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS = 1, 2, 3, 4, 6, 7
PT_GNU_EH_FRAME, PT_GNU_STACK, PT_GNU_RELRO = 0x6474E550, 0x6474E551, 0x6474E552
PT_GNU_PROPERTY = 0x6474E553
PF_X, PF_W, PF_R = 1, 2, 4
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 1, 2, 4, 0x400
SHF_MERGE, SHF_STRINGS, SHF_COMPRESSED = 0x10, 0x20, 0x800
SHN_ABS = 0xFFF1
STT_SECTION_LOCAL = 3  # st_info of a section symbol: STB_LOCAL << 4 | STT_SECTION
ET_EXEC, ET_DYN = 2, 3


@dataclass(frozen=True)
class Phdr:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


def _seg_flags(seg: Segment) -> int:
    return PF_R | (PF_W if SectionFlags.WRITE in seg.flags else 0) | (
        PF_X if SectionFlags.EXEC in seg.flags else 0)


def program_headers(img: ElfImage, header_size: int, phdr_offset: int) -> list[Phdr]:
    page = img.options.max_page_size or img.arch.page_size
    base = img.segments[0].addr  # the image base: arch.image_base, or 0 for a PIE
    ph_size = img.arch.elf.program_header_size
    table = img.phdr_count * ph_size
    phdrs: list[Phdr] = []
    if img.options.dynamic and img.options.shared is None:  # a shared object: neither
        phdrs.append(Phdr(PT_PHDR, PF_R, phdr_offset, base + phdr_offset, table, table,
                          img.arch.word))
        interp = img.named[".interp"]
        phdrs.append(Phdr(PT_INTERP, PF_R, interp.file_offset, interp.addr, interp.size,
                          interp.size, 1))
    for seg in img.segments:
        # p_align is the segment's own alignment (at least a page): a loader placing the
        # image (PIE, or the emulator) must keep sections aligned past a page aligned too.
        phdrs.append(Phdr(PT_LOAD, _seg_flags(seg), seg.file_offset, seg.addr, seg.filesz,
                          seg.memsz, max(seg.align, page)))
    if img.options.dynamic:
        dyn = img.named[".dynamic"]
        phdrs.append(Phdr(PT_DYNAMIC, PF_R | PF_W, dyn.file_offset, dyn.addr, dyn.size,
                          dyn.size, img.arch.word))
    for run in _note_runs(img.sections):  # one PT_NOTE per alignment, as GNU ld writes
        first, last = run[0], run[-1]
        phdrs.append(Phdr(PT_NOTE, PF_R, first.file_offset, first.addr,
                          last.end - first.addr, last.end - first.addr, first.align))
    prop = img.named.get(".note.gnu.property")
    if prop is not None:  # the merged x86 feature/ISA note, found by ld.so through this
        phdrs.append(Phdr(PT_GNU_PROPERTY, PF_R, prop.file_offset, prop.addr, prop.size,
                          prop.size, prop.align))
    tls = tls_block(img.sections)
    if tls is not None:
        phdrs.append(Phdr(PT_TLS, PF_R, tls.file_offset, tls.addr, tls.filesz, tls.memsz,
                          tls.align))
    hdr = img.named.get(".eh_frame_hdr")
    if hdr is not None:
        phdrs.append(Phdr(PT_GNU_EH_FRAME, PF_R, hdr.file_offset, hdr.addr, hdr.size, hdr.size,
                          4))
    phdrs.append(Phdr(PT_GNU_STACK, PF_R | PF_W | (PF_X if img.options.exec_stack else 0),
                      0, 0, 0, img.options.stack_size, 16))
    if img.relro is not None:
        r = img.relro
        phdrs.append(Phdr(PT_GNU_RELRO, PF_R, r.file_offset, r.addr, r.size, r.size, 1))
    return phdrs


def _note_runs(sections: list[OutputSection]) -> list[list[OutputSection]]:
    """Adjacent note sections of one alignment: a PT_NOTE's p_align is the alignment a
    reader steps between its notes by, so 8-aligned property notes get their own."""
    runs: list[list[OutputSection]] = []
    previous: OutputSection | None = None
    for out in sections:
        if out.meta.get("type") == 7:
            if runs and previous is runs[-1][-1] and out.align == previous.align:
                runs[-1].append(out)
            else:
                runs.append([out])
        previous = out
    return runs


def note_runs(sections: Iterable[OutputSection]) -> int:
    return len(_note_runs(list(sections)))


def count_program_headers(dynamic: bool, nsegments: int, has_notes: int,
                          has_eh_frame_hdr: bool = False, has_tls: bool = False,
                          has_relro: bool = False, has_property: bool = False,
                          shared: bool = False) -> int:
    """`has_notes`: how many PT_NOTE headers (runs of notes of one alignment).  A dynamic
    executable has PT_PHDR, PT_INTERP and PT_DYNAMIC; a shared object only PT_DYNAMIC."""
    dynamic_headers = (1 if shared else 3) if dynamic else 0
    return (dynamic_headers + nsegments + int(has_notes) + int(has_eh_frame_hdr)
            + int(has_tls) + 1 + int(has_relro) + int(has_property))


@dataclass(frozen=True)
class TlsBlock:
    """The executable's TLS initialisation image (.tdata) and zero-fill (.tbss)."""

    addr: int
    file_offset: int
    filesz: int
    memsz: int
    align: int

    @property
    def thread_pointer(self) -> int:
        """x86 TLS variant II: the block ends at the thread pointer, rounded to its alignment."""
        return self.addr + ((self.memsz + self.align - 1) & -self.align)


def tls_block(sections: list[OutputSection]) -> TlsBlock | None:
    tls = [o for o in sections if SectionFlags.TLS in o.flags]
    if not tls:
        return None
    first, last = tls[0], tls[-1]
    # up to the end of the last section with bytes: alignment may leave gaps between them
    filesz = max((o.end for o in tls if not o.nobits), default=first.addr) - first.addr
    return TlsBlock(first.addr, first.file_offset, filesz, last.end - first.addr,
                    max(o.align for o in tls))


def pack_phdrs(phdrs: list[Phdr], layout: ElfLayout) -> bytes:
    return b"".join(layout.pack_program_header(
        type=p.type, flags=p.flags, offset=p.offset, vaddr=p.vaddr, paddr=p.vaddr,
        filesz=p.filesz, memsz=p.memsz, align=p.align) for p in phdrs)


ELFOSABI_GNU = 3


def elf_header(img: ElfImage, phoff: int, shoff: int, shnum: int, shstrndx: int) -> bytes:
    a = img.arch
    # ELFOSABI_GNU marks STT_GNU_IFUNC symbols as such (GNU ld sets it when it sees one).
    osabi = ELFOSABI_GNU if img.gnu_osabi else 0
    ident = b"\x7fELF" + bytes([a.elf_class, 1, 1, osabi]) + bytes(8)
    e_type = ET_DYN if img.options.pie or img.options.shared is not None else ET_EXEC
    e = a.elf
    return ident + struct.pack(e.header_format, e_type, a.elf_machine, 1, img.entry, phoff,
                               shoff, 0, e.header_size, e.program_header_size,
                               img.phdr_count, e.section_header_size, shnum, shstrndx)


def _append_locals(rows: list[tuple[int, int, int, int, int, int]], img: ElfImage,
                   symtab: SymbolTable, out_index: dict[int, int], strtab: StringTable,
                   index: SymtabIndex | None, tls_base: int) -> None:
    """Every object's locals (not section symbols), in object order: the columns of the
    objects that have some joined, then one Python step per local symbol with plain ints."""
    from ..apply import all_local_addresses
    if not symtab.objects or img.options.discard_all:  # -x: no locals at all
        return
    kept = [obj for obj in symtab.objects if obj.path != SYNTHETIC_PATH]
    types = np.concatenate([obj.symbols.type for obj in kept]) if kept else np.zeros(0)
    binding = np.concatenate([obj.symbols.binding for obj in kept]) if kept else types
    counts = [len(obj.symbols) for obj in kept]
    owner = np.repeat(np.arange(len(kept)), counts)
    is_local = (binding == BIND_LOCAL) & (types != TYPE_SECTION)
    # ELF's null symbol (row 0, no name) is skipped below: it does not make an object one
    # with locals (most objects of a large link have no other)
    first = np.cumsum([0, *counts[:-1]])[[len(obj.symbols) > 0 and not obj.symbols.names[0]
                                          for obj in kept]]
    is_local[first[types[first] != TYPE_FILE]] = False
    # only the objects with such locals
    objects = [kept[o] for o in np.flatnonzero(np.bincount(owner[is_local],
                                                           minlength=len(kept))).tolist()]
    if not objects:
        return
    tables = [obj.symbols for obj in objects]
    counts = [len(t) for t in tables]
    owner = np.repeat(np.arange(len(objects)), counts)
    types = np.concatenate([t.type for t in tables])
    every_addr = all_local_addresses(objects, img.layout, [True] * len(objects))
    picked = np.nonzero((np.concatenate([t.binding for t in tables]) == BIND_LOCAL)
                        & (types != TYPE_SECTION))[0]
    first = np.cumsum([0, *counts[:-1]])
    every_name = list(itertools.chain.from_iterable(t.names for t in tables))
    for o, i, name, typ, shndx, vis, size, addr in zip(
            owner[picked].tolist(), (picked - first[owner[picked]]).tolist(),
            map(every_name.__getitem__, picked.tolist()), types[picked].tolist(),
            np.concatenate([t.section for t in tables])[picked].tolist(),
            np.concatenate([t.visibility for t in tables])[picked].tolist(),
            np.concatenate([t.size for t in tables])[picked].tolist(),
            every_addr[picked].tolist()):
        if typ == SymType.FILE:
            rows.append((strtab.add(name), (0 << 4) | 4, 0, SHN_ABS, 0, 0))
            continue
        obj = objects[o]
        if not name or (name.startswith(".L") and (
                index is None or (id(obj), i) not in index.wanted)):
            continue
        sec = obj.sections[shndx] if shndx >= 0 else None
        if shndx >= 0 and sec is None:
            continue  # defined in a discarded section
        ndx = out_index.get(id(sec), 0) if sec is not None else SHN_ABS
        value = addr - (tls_base if typ == SymType.TLS and sec is not None else 0)
        if index is not None:
            index.local[(id(obj), i)] = len(rows)
        rows.append((strtab.add(name), STT.get(SymType(typ), 0), vis, ndx, value, size))


def build_symtab(img: ElfImage, symtab: SymbolTable, out_index: dict[int, int],
                 index: SymtabIndex | None = None) -> tuple[bytes, bytes, int]:
    """.symtab and .strtab: per object its STT_FILE and locals, then every global.
    Returns (symtab bytes, strtab bytes, index of the first global).  With `index`
    (--emit-relocs) a section symbol per output section comes first, and `index` records
    where each symbol went."""
    strtab = StringTable()
    rows: list[tuple[int, int, int, int, int, int]] = [(0, 0, 0, 0, 0, 0)]
    if index is not None:
        for n, osec in enumerate(img.sections, start=1):
            index.section[n] = len(rows)
            rows.append((0, STT_SECTION_LOCAL, 0, n, osec.addr, 0))
    # A TLS symbol's st_value is its offset in the TLS template (gABI), not an address.
    tls = tls_block(img.sections)
    tls_base = tls.addr if tls is not None else 0
    _append_locals(rows, img, symtab, out_index, strtab, index, tls_base)
    # gABI: a hidden or internal symbol of an input becomes STB_LOCAL in the output (as GNU
    # ld, gold and lld write it), so it goes with the locals, before first_global.
    hidden, globals_ = _global_columns(img, symtab, out_index, strtab, tls_base)
    first_global = len(rows) + len(hidden[0])
    if index is not None:  # where each global's row went
        index.global_.update(zip(hidden[6].tolist(), range(len(rows), first_global)))
        index.global_.update(zip(globals_[6].tolist(),
                                 range(first_global, first_global + len(globals_[0]))))
    dt = _symbol_dtype(img.arch.elf)
    # An absolute symbol's address may be negative (apply.absolute_word): its st_value is
    # the same 64-bit word, unsigned.
    locals_ = np.array([(n, i, o, x, v & ((1 << 64) - 1), z) for n, i, o, x, v, z in rows],
                       dtype=np.uint64).reshape(-1, 6)
    out = np.zeros(first_global + len(globals_[0]), dtype=dt)
    for k, col in enumerate(("name", "info", "other", "shndx", "value", "size")):
        column = np.concatenate([locals_[:, k], hidden[k].astype(np.uint64),
                                 globals_[k].astype(np.uint64)])
        out[col] = column & np.uint64((1 << (8 * dt[col].itemsize)) - 1)
    return out.tobytes(), strtab.bytes(), first_global


_STT_OF_TYPE = np.zeros(max(int(t) for t in SymType) + 1, dtype=np.int64)
_STT_OF_TYPE[[int(t) for t in STT]] = list(STT.values())
_STB_OF_BINDING = np.zeros(max(int(b) for b in Binding) + 1, dtype=np.int64)
_STB_OF_BINDING[[int(b) for b in STB]] = list(STB.values())


def _global_columns(img: ElfImage, symtab: SymbolTable, out_index: dict[int, int],
                    strtab: StringTable, tls_base: int
                    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The rows of every defined or referenced global, as columns (name, info, other,
    shndx, value, size, global id): first those an input made hidden or internal, which
    are local in the output, then the rest; each in global-id order.  Their names enter
    `strtab` in global-id order.  One pass per attribute over the symbols, the rest in
    arrays: a Python step per global was a tenth of a large link."""
    symbols = symtab.symbols
    n = len(symbols)
    linker_defined = np.fromiter(map(_LINKER_DEFINED, symbols), bool, n)
    defined = np.array([s.file is not None for s in symbols], dtype=bool) | linker_defined
    picked = np.flatnonzero(defined | np.fromiter(map(_REFERENCED, symbols), bool, n))
    chosen = [symbols[g] for g in picked.tolist()]
    m = len(chosen)
    defined, linker_defined = defined[picked], linker_defined[picked]
    sections = list(map(_SECTION, chosen))
    kind = np.fromiter(map(_TYPE, chosen), np.int64, m)
    visibility = np.fromiter(map(_VISIBILITY, chosen), np.int64, m)
    # st_shndx: the output section of a defined symbol's input section (0 when it has
    # none there), SHN_ABS for one without (and for the linker's), 0 for a reference
    has_section = np.fromiter(map(operator.is_not, sections, itertools.repeat(None)), bool, m)
    shndx = np.fromiter(map(out_index.get, map(id, sections), itertools.repeat(0)), np.int64, m)
    shndx[~has_section | linker_defined] = SHN_ABS
    # the linker's own symbols are relative to the section they sit beside (as GNU ld
    # writes them): in a PIE, SHN_ABS would say the value does not move with the load base
    numbers = {id(o): n for n, o in enumerate(img.sections, start=1)}
    for k in np.flatnonzero(linker_defined).tolist():
        anchor = img.anchors.get(chosen[k].name)
        if anchor is not None:
            shndx[k] = numbers[id(anchor)]
    shndx[~defined] = 0
    binding = _STB_OF_BINDING[np.fromiter(map(_BINDING, chosen), np.int64, m)]
    strong = np.fromiter(map(_STRONG_REF, chosen), bool, m)
    binding[~defined] = np.where(strong[~defined], STB[Binding.GLOBAL], STB[Binding.WEAK])
    value = img.syms.address[picked].copy()
    # .symtab keeps an IFUNC's own value, its resolver (as GNU ld does); references got
    # its .iplt entry instead.
    for k in np.flatnonzero((kind == TYPE_IFUNC) & has_section).tolist():
        value[k] = img.layout.address_of(sections[k]) + chosen[k].value
    thread_local = defined & (kind == TYPE_TLS) & ~linker_defined
    value[thread_local] -= tls_base
    size = np.where(defined, np.fromiter(map(_SIZE, chosen), np.int64, m), 0)
    hidden = defined & ((visibility == STV_INTERNAL) | (visibility == STV_HIDDEN))
    binding[hidden] = 0
    info = (binding << 4) | _STT_OF_TYPE[kind]
    name = np.array(strtab.add_all(list(map(_NAME, chosen))), dtype=np.int64)
    columns = (name, info, visibility, shndx, value, size, picked)
    return tuple(c[hidden] for c in columns), tuple(c[~hidden] for c in columns)


_LINKER_DEFINED, _REFERENCED, _SECTION, _TYPE, _VISIBILITY, _BINDING, _STRONG_REF, _SIZE, \
    _NAME = map(operator.attrgetter, ("linker_defined", "referenced", "section", "type",
                                     "visibility", "binding", "strong_ref", "size", "name"))


_NUMPY_FIELD = {"B": "u1", "H": "<u2", "I": "<u4", "Q": "<u8"}


@functools.lru_cache(maxsize=4)
def _symbol_dtype(layout: ElfLayout) -> np.dtype:
    """The class's Elf_Sym, field by field in its own order (struct code -> numpy type)."""
    return np.dtype([(name, _NUMPY_FIELD[code]) for name, code
                     in zip(layout.symbol_fields, layout.symbol_format[1:])])


def section_header(layout: ElfLayout, name: int, sh_type: int, flags: int, addr: int,
                   offset: int, size: int, link: int, info: int, align: int, entsize: int
                   ) -> bytes:
    return struct.pack(layout.section_header_format, name, sh_type, flags, addr, offset, size,
                       link, info, align, entsize)


def shdr_flags(out: OutputSection) -> int:
    compressed = bool(out.meta.get("compressed"))
    known = _SHDR_FLAGS.get((out.flags, compressed))
    if known is None:
        known = _SHDR_FLAGS[(out.flags, compressed)] = _shdr_flags(out.flags, compressed)
    return known


# (flags, compressed) -> sh_flags: an IntFlag test costs a µs, a section header four
_SHDR_FLAGS: dict[tuple[SectionFlags, bool], int] = {}


def _shdr_flags(flags: SectionFlags, compressed: bool) -> int:
    if SectionFlags.ALLOC not in flags:  # debug information, .comment: kept as merged
        return ((SHF_MERGE if SectionFlags.MERGE in flags else 0)
                | (SHF_STRINGS if SectionFlags.STRINGS in flags else 0)
                | (SHF_COMPRESSED if compressed else 0))
    f = SHF_ALLOC
    if SectionFlags.WRITE in flags:
        f |= SHF_WRITE
    if SectionFlags.EXEC in flags:
        f |= SHF_EXECINSTR
    if SectionFlags.TLS in flags:
        f |= SHF_TLS
    return f


def serialize(img: ElfImage, image: bytearray, symtab: SymbolTable, strip: bool) -> bytearray:
    """Append .symtab/.strtab/.shstrtab and the section headers; fill the file headers."""
    word, layout = img.arch.word, img.arch.elf
    out_index = {id(sec): n + 1 for n, out in enumerate(img.sections) for sec in out.inputs}
    shstr = StringTable()
    # name, type, data, link, info, align, entsize, flags
    extra: list[tuple[str, int, bytes, int, int, int, int, int]] = []
    if not strip:
        index = SymtabIndex.for_relocations(symtab) if img.options.emit_relocs else None
        sym_bytes, str_bytes, first_global = build_symtab(img, symtab, out_index, index)
        nsec = len(img.sections)
        extra.append((".symtab", SHT_SYMTAB, sym_bytes, nsec + 2, first_global, word,
                      layout.symbol_size, 0))
        extra.append((".strtab", SHT_STRTAB, str_bytes, 0, 0, 1, 0, 0))
        if index is not None:  # --emit-relocs: after .strtab, linked to .symtab
            extra += [(r.name, r.sh_type, r.data, nsec + 1, r.target, word, r.entsize,
                       SHF_INFO_LINK) for r in relocation_sections(img, symtab, index)]
    extra.append((".shstrtab", SHT_STRTAB, b"", 0, 0, 1, 0, 0))
    names = [shstr.add(o.name) for o in img.sections] + [shstr.add(e[0]) for e in extra]
    shstr_bytes = shstr.bytes()
    offsets = []
    cursor = len(image)
    for k, e in enumerate(extra):
        data = shstr_bytes if e[0] == ".shstrtab" else e[2]
        cursor = (cursor + e[5] - 1) & -e[5]
        image.extend(bytes(cursor - len(image)))
        offsets.append((cursor, len(data)))
        image += data
        cursor += len(data)
    shoff = (len(image) + 7) & -8
    image.extend(bytes(shoff - len(image)))
    index_by_name = {o.name: n + 1 for n, o in enumerate(img.sections)}
    hdrs = [section_header(layout, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for n, out in enumerate(img.sections):
        t = out.meta.get("type", 1)
        link = info = 0
        if out.name in (".dynsym", ".hash", ".gnu.hash", ".gnu.version", ".rela.dyn",
                        ".rela.plt", ".rel.dyn", ".rel.plt"):
            link = index_by_name.get(".dynsym", 0)
        if out.name in (".dynsym", ".dynamic", ".gnu.version_r", ".gnu.version_d"):
            link = index_by_name.get(".dynstr", 0)
        if out.name == ".dynsym":
            info = 1  # every symbol after the null one is global
        if out.name == ".gnu.version_r" and img.dynamic is not None:
            info = len(img.dynamic.verneed)
        if out.name == ".gnu.version_d" and img.dynamic is not None:
            info = len(img.dynamic.verdef)
        if out.name in (".rela.plt", ".rel.plt"):
            info = index_by_name.get(".got.plt", 0)
        hdrs.append(section_header(layout, names[n], t, shdr_flags(out), out.addr,
                                   out.file_offset, out.size, link, info, out.align,
                                   out.meta.get("entsize", 0)))
    nsec = len(img.sections)
    for k, e in enumerate(extra):
        off, size = offsets[k]
        hdrs.append(section_header(layout, names[nsec + k], e[1], e[7], 0, off, size, e[3],
                                   e[4], e[5], e[6]))
    image += b"".join(hdrs)
    ehdr_size = layout.header_size
    phdrs = program_headers(img, ehdr_size, ehdr_size)
    assert len(phdrs) == img.phdr_count, (len(phdrs), img.phdr_count)
    image[0:ehdr_size] = elf_header(img, ehdr_size, shoff, len(hdrs), len(hdrs) - 1)
    table = pack_phdrs(phdrs, layout)
    image[ehdr_size:ehdr_size + len(table)] = table
    return image

