"""Reading what ld.so reads from a mapped executable: the _DYNAMIC array, the dynamic
symbols, the relocation tables and the version needs.  Everything is read from guest
memory (after the segments are mapped), as ld.so does, never from section headers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oracle.emulate.guest import GuestMemory
from oracle.records import quick_init

DT_NULL, DT_NEEDED, DT_PLTRELSZ, DT_PLTGOT = 0, 1, 2, 3
DT_STRTAB, DT_SYMTAB, DT_RELA, DT_RELASZ, DT_RELAENT = 5, 6, 7, 8, 9
DT_INIT, DT_FINI = 12, 13
DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL = 17, 18, 19, 20
DT_JMPREL, DT_BIND_NOW = 23, 24
DT_INIT_ARRAY, DT_FINI_ARRAY, DT_INIT_ARRAYSZ, DT_FINI_ARRAYSZ = 25, 26, 27, 28
DT_FLAGS, DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ = 30, 32, 33
DT_VERSYM, DT_FLAGS_1, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFF0, 0x6FFFFFFB, 0x6FFFFFFE, 0x6FFFFFFF
DT_RELRSZ, DT_RELR, DT_RELRENT = 35, 36, 37
DF_BIND_NOW, DF_1_NOW = 0x8, 0x1
# Tags whose value is an address (relocated by the load bias, as ld.so does).
ADDRESS_TAGS = frozenset({
    DT_PLTGOT, DT_STRTAB, DT_SYMTAB, DT_RELA, DT_INIT, DT_FINI, DT_REL, DT_JMPREL,
    DT_INIT_ARRAY, DT_FINI_ARRAY, DT_PREINIT_ARRAY, DT_VERSYM, DT_VERNEED, DT_RELR,
})
SHN_UNDEF = 0
STB_WEAK = 2
MAX_DYNAMIC_BYTES = 1 << 20  # 65,536 tags: far past any real _DYNAMIC
MAX_TABLE_BYTES = 64 << 20  # the default memory cap, which the whole image counts against
STT_OBJECT, STT_FUNC, STT_TLS, STT_GNU_IFUNC = 1, 2, 6, 10
STV_DEFAULT, STV_INTERNAL, STV_HIDDEN, STV_PROTECTED = 0, 1, 2, 3


class DynamicError(Exception):
    """A malformed dynamic section or table (a load-time fault)."""


@quick_init
@dataclass(frozen=True)
class DynSym:
    index: int
    name: str
    value: int
    size: int
    bind: int
    type: int
    shndx: int
    raw: int = 0  # st_value as in the file (for TLS symbols: the offset in the block)
    visibility: int = STV_DEFAULT  # st_other & 3

    @property
    def protected(self) -> bool:
        """Defined here and STV_PROTECTED: every reference of this object binds to this
        definition, whatever precedes the object in the scope."""
        return self.defined and self.visibility == STV_PROTECTED

    @property
    def defined(self) -> bool:
        return self.shndx != SHN_UNDEF


@quick_init
@dataclass(frozen=True)
class Reloc:
    offset: int  # address of the field (load bias applied)
    type: int
    sym: int
    addend: int | None  # None for REL: the addend is read from the field


@dataclass(frozen=True)
class RelocRows:
    """A relocation table decoded in bulk, one array per field: the places (load bias not
    applied), types, symbol indexes and, for RELA, addends."""

    offset: npt.NDArray[np.uint64]
    type: npt.NDArray[np.uint32]
    sym: npt.NDArray[np.uint32]
    addend: npt.NDArray[np.int64] | None
    bias: int

    def __len__(self) -> int:
        return len(self.offset)

    def reloc(self, i: int) -> Reloc:
        return Reloc(int(self.offset[i]) + self.bias, int(self.type[i]), int(self.sym[i]),
                     None if self.addend is None else int(self.addend[i]))


_ROW_DTYPES = {
    (8, True): np.dtype([("offset", "<u8"), ("info", "<u8"), ("addend", "<i8")]),
    (8, False): np.dtype([("offset", "<u8"), ("info", "<u8")]),
    (4, True): np.dtype([("offset", "<u4"), ("info", "<u4"), ("addend", "<i4")]),
    (4, False): np.dtype([("offset", "<u4"), ("info", "<u4")]),
}


class Dynamic:
    """The tags of _DYNAMIC and the tables they point at, for one loaded object."""

    def __init__(self, mem: GuestMemory, word: int, dyn_addr: int, dyn_size: int, bias: int):
        self.mem = mem
        self.word = word
        self.bias = bias
        self.tags: dict[int, int] = {}
        self.needed: list[int] = []
        fmt = "<qQ" if word == 8 else "<iI"
        if dyn_size > MAX_DYNAMIC_BYTES:  # a hostile p_memsz: not a 4 GiB read buffer
            raise DynamicError(f"PT_DYNAMIC of {dyn_size:#x} bytes (the limit is "
                               f"{MAX_DYNAMIC_BYTES:#x})")
        raw = mem.read(dyn_addr, dyn_size)
        for tag, value in struct.iter_unpack(fmt, raw[: len(raw) // (2 * word) * 2 * word]):
            if tag == DT_NULL:
                break
            if tag in ADDRESS_TAGS:
                value += bias
            if tag == DT_NEEDED:
                self.needed.append(value)
            else:
                self.tags[tag] = value
        self._strtab = self.tags.get(DT_STRTAB)
        self._symtab = self.tags.get(DT_SYMTAB)
        self._syms: dict[int, DynSym] = {}
        self._needs: dict[int, tuple[str, str]] | None = None
        self._files: dict[int, str] | None = None

    def get(self, tag: int, default: int = 0) -> int:
        return self.tags.get(tag, default)

    def string(self, offset: int) -> str:
        if self._strtab is None:
            raise DynamicError("no DT_STRTAB")
        return self.mem.read_cstr(self._strtab + offset, 4096).decode("utf-8", "replace")

    def needed_names(self) -> list[str]:
        return [self.string(off) for off in self.needed]

    def bind_now(self) -> bool:
        return (DT_BIND_NOW in self.tags or bool(self.get(DT_FLAGS) & DF_BIND_NOW)
                or bool(self.get(DT_FLAGS_1) & DF_1_NOW))

    def symbol(self, index: int) -> DynSym:
        cached = self._syms.get(index)
        if cached is not None:
            return cached
        if self._symtab is None:
            raise DynamicError("relocation names a symbol but there is no DT_SYMTAB")
        if self.word == 8:
            name, info, other, shndx, value, size = struct.unpack(
                "<IBBHQQ", self.mem.read(self._symtab + 24 * index, 24))
        else:
            name, value, size, info, other, shndx = struct.unpack(
                "<IIIBBH", self.mem.read(self._symtab + 16 * index, 16))
        sym = DynSym(index, self.string(name), value + (self.bias if shndx else 0), size,
                     info >> 4, info & 0xF, shndx, value, other & 3)
        self._syms[index] = sym
        return sym

    def _rows(self, addr: int, size: int, rela: bool) -> RelocRows:
        raw = self._table_bytes(addr, size, (3 if rela else 2) * self.word, "relocation")
        rows = np.frombuffer(raw, _ROW_DTYPES[(self.word, rela)])
        info = rows["info"].astype(np.uint64)
        wide = self.word == 8
        return RelocRows(rows["offset"].astype(np.uint64),
                         (info & (0xFFFFFFFF if wide else 0xFF)).astype(np.uint32),
                         (info >> (32 if wide else 8)).astype(np.uint32),
                         rows["addend"].astype(np.int64) if rela else None, self.bias)

    def _table_bytes(self, addr: int, size: int, entsize: int, what: str) -> bytes:
        if size == 0:
            return b""
        if size % entsize:
            raise DynamicError(f"{what} table size {size} is not a multiple of {entsize}")
        if size > MAX_TABLE_BYTES:  # cannot be in an image the memory cap let load
            raise DynamicError(f"{what} table of {size:#x} bytes (the limit is "
                               f"{MAX_TABLE_BYTES:#x})")
        return self.mem.read(addr, size)

    def relr_entries(self) -> npt.NDArray[np.uint64]:
        """DT_RELR's words (see relative.py for what they say)."""
        if DT_RELR not in self.tags:
            return np.zeros(0, np.uint64)
        raw = self._table_bytes(self.tags[DT_RELR], self.get(DT_RELRSZ), self.word, "DT_RELR")
        return np.frombuffer(raw, f"<u{self.word}").astype(np.uint64)

    def _table(self, addr: int, size: int, rela: bool) -> list[Reloc]:
        if size == 0:
            return []
        w = self.word
        raw = self._table_bytes(addr, size, (3 if rela else 2) * w, "relocation")
        out = []
        fmt = {(8, True): "<QQq", (8, False): "<QQ", (4, True): "<IIi", (4, False): "<II"}
        for fields in struct.iter_unpack(fmt[(w, rela)], raw):
            info = fields[1]
            rtype, sym = (info & 0xFFFFFFFF, info >> 32) if w == 8 else (info & 0xFF, info >> 8)
            out.append(Reloc(fields[0] + self.bias, rtype, sym, fields[2] if rela else None))
        return out

    def plt_is_rela(self) -> bool:
        if DT_PLTREL in self.tags:
            return self.tags[DT_PLTREL] == DT_RELA
        return self.word == 8

    def plt_entsize(self) -> int:
        return (3 if self.plt_is_rela() else 2) * self.word

    def plt_relocs(self) -> list[Reloc]:
        return self._table(self.get(DT_JMPREL), self.get(DT_PLTRELSZ), self.plt_is_rela())

    def plt_reloc_at(self, byte_offset: int) -> Reloc:
        """The DT_JMPREL relocation `byte_offset` bytes into the table (read from memory)."""
        return self._table(self.get(DT_JMPREL) + byte_offset, self.plt_entsize(),
                           self.plt_is_rela())[0]

    def data_relocs(self) -> list[RelocRows]:
        """DT_RELA / DT_REL, without the DT_JMPREL part some linkers include in their size,
        as decoded tables in the order ld.so applies them."""
        out: list[RelocRows] = []
        jmprel, pltsz = self.get(DT_JMPREL), self.get(DT_PLTRELSZ)
        for tab, size, rela in ((DT_RELA, DT_RELASZ, True), (DT_REL, DT_RELSZ, False)):
            if tab not in self.tags:
                continue
            start, end = self.tags[tab], self.tags[tab] + self.get(size)
            if pltsz and start <= jmprel < end:
                out.append(self._rows(start, jmprel - start, rela))
                start = jmprel + pltsz
            if start < end:
                out.append(self._rows(start, end - start, rela))
        return out

    def version_needs(self) -> dict[int, tuple[str, str]]:
        """Version index (vna_other) -> (the file that must provide it, the version name),
        from DT_VERNEED."""
        if self._needs is not None:
            return self._needs
        out: dict[int, tuple[str, str]] = {}
        addr, count = self.get(DT_VERNEED), self.get(DT_VERNEEDNUM)
        for _ in range(count if addr else 0):
            _, cnt, file_off, aux, nxt = struct.unpack("<HHIII", self.mem.read(addr, 16))
            filename = self.string(file_off)
            vaux = addr + aux
            for _ in range(cnt):
                _, _, other, name_off, vnext = struct.unpack("<IHHII", self.mem.read(vaux, 16))
                out[other] = (filename, self.string(name_off))
                if not vnext:
                    break
                vaux += vnext
            if not nxt:
                break
            addr += nxt
        self._needs = out
        return out

    def version_files(self) -> dict[int, str]:
        """Version index -> the file that must provide it (made once: the scope asks for it
        at every symbol it resolves)."""
        if self._files is None:
            self._files = {index: need[0] for index, need in self.version_needs().items()}
        return self._files

    def version_index(self, sym_index: int) -> int:
        versym = self.tags.get(DT_VERSYM)
        if versym is None:
            return 1
        return int.from_bytes(self.mem.read(versym + 2 * sym_index, 2), "little") & 0x7FFF

    def array(self, addr_tag: int, size_tag: int) -> list[int]:
        addr = self.tags.get(addr_tag)
        if not addr:
            return []
        raw = self.mem.read(addr, self.get(size_tag))
        return [int.from_bytes(raw[i : i + self.word], "little")
                for i in range(0, len(raw) - self.word + 1, self.word)]
