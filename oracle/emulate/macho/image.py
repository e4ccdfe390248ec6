"""A bounds-checked reading of a Mach-O file, 64-bit (x86-64) or 32-bit (i386): the header,
the load commands that dyld and the kernel look at, the segments with their sections, the
symbol table and the indirect symbol table.

The two widths differ only in sizes (mach_header 28 vs 32 bytes, LC_SEGMENT's 56-byte
command and 68-byte sections vs LC_SEGMENT_64's 72 and 80, the 12- vs 16-byte nlist) and in
the thread state (x86_THREAD_STATE32 holds eip as its 11th word); `MachOImage.word` is the
pointer size every reader of pointers (rebase, bind, symbol pointers) must use.

Every read goes through `MachOImage.bytes_at`, which raises `MachOError` (naming the
place) instead of reading past the end of the file; both the emulated dyld and the
structural checker are written against this one reading, which never imports the linker.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from oracle.records import quick_init

MH_MAGIC_64, MH_MAGIC = 0xFEEDFACF, 0xFEEDFACE
MH_EXECUTE, MH_DYLIB, MH_BUNDLE = 2, 6, 8
LINKED_FILETYPES = {MH_EXECUTE: "MH_EXECUTE", MH_DYLIB: "MH_DYLIB", MH_BUNDLE: "MH_BUNDLE"}
LC_ID_DYLIB = 0xD
CPU_TYPE_X86_64, CPU_TYPE_I386 = 0x01000007, 7
MH_BIND_AT_LOAD, MH_TWOLEVEL, MH_PIE = 0x8, 0x80, 0x200000
HEADER_SIZE, HEADER_SIZE_32 = 32, 28

LC_SEGMENT, LC_SEGMENT_64, LC_SYMTAB, LC_UNIXTHREAD, LC_DYSYMTAB = 0x1, 0x19, 0x2, 0x5, 0xB
LC_LOAD_DYLIB, LC_LOAD_DYLINKER, LC_LAZY_LOAD_DYLIB = 0xC, 0xE, 0x20
LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LOAD_UPWARD_DYLIB = 0x80000018, 0x8000001F, 0x80000023
LC_DYLD_INFO, LC_DYLD_INFO_ONLY, LC_MAIN = 0x22, 0x80000022, 0x80000028
LC_DYLD_EXPORTS_TRIE, LC_DYLD_CHAINED_FIXUPS = 0x80000033, 0x80000034
DYLIB_COMMANDS = frozenset({LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB,
                            LC_LAZY_LOAD_DYLIB, LC_LOAD_UPWARD_DYLIB})

VM_PROT_READ, VM_PROT_WRITE, VM_PROT_EXECUTE = 1, 2, 4
SECTION_TYPE = 0xFF
S_ZEROFILL, S_NON_LAZY_SYMBOL_POINTERS, S_LAZY_SYMBOL_POINTERS, S_SYMBOL_STUBS = 1, 6, 7, 8
S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL = 0xC, 0x12
ZEROFILL_TYPES = frozenset({S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL})
INDIRECT_SYMBOL_LOCAL, INDIRECT_SYMBOL_ABS = 0x80000000, 0x40000000
N_STAB, N_TYPE, N_EXT, N_UNDF, N_SECT = 0xE0, 0x0E, 0x01, 0x0, 0xE
SELF_LIBRARY_ORDINAL, DYNAMIC_LOOKUP_ORDINAL, EXECUTABLE_ORDINAL = 0, 0xFE, 0xFF
X86_THREAD_STATE64, X86_THREAD_STATE64_COUNT, THREAD_RIP_INDEX = 4, 42, 16
# i386 (mach/i386/thread_status.h): eax ebx ecx edx edi esi ebp esp ss eflags eip cs ds es fs gs
X86_THREAD_STATE32, X86_THREAD_STATE32_COUNT, THREAD_EIP_INDEX = 1, 16, 10
NLIST_64 = struct.Struct("<IBBHQ")
NLIST_32 = struct.Struct("<IBBHI")
SEGMENT_COMMAND_SIZE = {LC_SEGMENT_64: 72, LC_SEGMENT: 56}
SECTION_SIZE = {LC_SEGMENT_64: 80, LC_SEGMENT: 68}


class MachOError(Exception):
    """The file cannot be read as a Mach-O file: `where` names the place."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


@quick_init
@dataclass(frozen=True)
class LoadCommand:
    index: int
    cmd: int
    offset: int  # file offset of the command
    size: int


@quick_init
@dataclass(frozen=True)
class Section:
    sectname: str
    segname: str
    addr: int
    size: int
    offset: int
    align: int
    reloff: int
    nreloc: int
    flags: int
    reserved1: int
    reserved2: int

    @property
    def type(self) -> int:
        return self.flags & SECTION_TYPE

    @property
    def zerofill(self) -> bool:
        return self.type in ZEROFILL_TYPES

    @property
    def name(self) -> str:
        return f"{self.segname},{self.sectname}"


@quick_init
@dataclass(frozen=True)
class Segment:
    index: int  # ordinal among LC_SEGMENT(_64) commands (what bind/rebase opcodes name)
    command: int  # load command index
    name: str
    vmaddr: int
    vmsize: int
    fileoff: int
    filesize: int
    maxprot: int
    initprot: int
    flags: int
    sections: tuple[Section, ...]

    @property
    def writable(self) -> bool:
        return bool(self.initprot & VM_PROT_WRITE)

    def contains(self, addr: int, size: int = 1) -> bool:
        return self.vmaddr <= addr and addr + size <= self.vmaddr + self.vmsize


@quick_init
@dataclass(frozen=True)
class Dylib:
    ordinal: int  # 1-based, as bind opcodes and n_desc name it
    cmd: int
    install_name: str
    current_version: int = 0  # xxxx.yy.zz packed, as dylib_command stores them
    compatibility_version: int = 0


@quick_init
@dataclass(frozen=True)
class Symbol:
    index: int
    name: str
    type: int
    sect: int
    desc: int
    value: int

    @property
    def undefined(self) -> bool:
        return self.type & N_TYPE == N_UNDF and not self.type & N_STAB

    @property
    def defined_in_section(self) -> bool:
        return self.type & N_TYPE == N_SECT and not self.type & N_STAB

    @property
    def library_ordinal(self) -> int:
        return (self.desc >> 8) & 0xFF


@dataclass(frozen=True)
class DyldInfo:
    cmd: int
    rebase: tuple[int, int]  # (file offset, size), likewise below
    bind: tuple[int, int]
    weak_bind: tuple[int, int]
    lazy_bind: tuple[int, int]
    export: tuple[int, int]


@dataclass
class MachOImage:
    data: bytes
    cputype: int = 0
    filetype: int = 0
    ncmds: int = 0
    sizeofcmds: int = 0
    flags: int = 0
    commands: list[LoadCommand] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    dylibs: list[Dylib] = field(default_factory=list)
    symtab: tuple[int, int, int, int] | None = None  # symoff, nsyms, stroff, strsize
    dysymtab: tuple[int, ...] | None = None  # the 18 words of dysymtab_command after cmdsize
    dyld_info: DyldInfo | None = None
    chained_fixups: tuple[int, int] | None = None  # LC_DYLD_CHAINED_FIXUPS dataoff, datasize
    exports_trie: tuple[int, int] | None = None  # LC_DYLD_EXPORTS_TRIE dataoff, datasize
    main_entryoff: int | None = None
    thread_rip: int | None = None  # the thread state's pc: rip, or eip of an i386 file
    dylinker: str | None = None
    dylib_id: Dylib | None = None  # LC_ID_DYLIB (ordinal 0): a dylib's name and versions
    is64: bool = True
    # symbols(): (symtab, is64, file size) it was decoded for, and the symbols or the error
    _symbols_memo: tuple[object, tuple[Symbol, ...] | MachOError] | None = field(
        default=None, repr=False, compare=False)

    @property
    def word(self) -> int:
        """The pointer size: 8 for MH_MAGIC_64, 4 for MH_MAGIC."""
        return 8 if self.is64 else 4

    @property
    def fixup_limit(self) -> int:
        """The most rebase or bind records a stream of this file may decode to."""
        from oracle.emulate.macho.opcodes import record_limit  # (opcodes stays image-free)

        return record_limit(len(self.data), self.word)

    @property
    def header_size(self) -> int:
        return HEADER_SIZE if self.is64 else HEADER_SIZE_32

    @property
    def segment_command(self) -> int:
        return LC_SEGMENT_64 if self.is64 else LC_SEGMENT

    # -- bounded access --

    def bytes_at(self, offset: int, size: int, where: str) -> bytes:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise MachOError(where, f"[{offset:#x}, {offset + size:#x}) is outside the file "
                                    f"({len(self.data):#x} bytes)")
        return self.data[offset : offset + size]

    def unpack(self, fmt: str, offset: int, where: str) -> tuple[int, ...]:
        return struct.unpack_from(fmt, self.bytes_at(offset, struct.calcsize(fmt), where))

    # -- lookups --

    def segment_named(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def segment_at(self, addr: int, size: int = 1) -> Segment | None:
        return next((s for s in self.segments if s.vmsize and s.contains(addr, size)), None)

    def sections(self) -> list[Section]:
        return [sect for seg in self.segments for sect in seg.sections]

    def header_address(self) -> int:
        """Where the mach_header is mapped: the segment that maps file offset 0."""
        for seg in self.segments:
            if seg.fileoff == 0 and seg.filesize:
                return seg.vmaddr
        raise MachOError("segments", "no segment maps the Mach-O header (fileoff 0)")

    def symbols(self) -> list[Symbol]:
        """The nlist table decoded (a fresh list each call; the decoding, or the
        MachOError it raised, is kept per symtab: the checker's rules ask about 13 times
        a file, and decoding was a third of checking a small Mach-O output)."""
        key = (self.symtab, self.is64, len(self.data))
        if self._symbols_memo is None or self._symbols_memo[0] != key:
            try:
                self._symbols_memo = (key, self._decode_symbols())
            except MachOError as err:
                self._symbols_memo = (key, err)
        found = self._symbols_memo[1]
        if isinstance(found, MachOError):
            raise MachOError(found.where, found.what)
        return list(found)

    def _decode_symbols(self) -> tuple[Symbol, ...]:
        if self.symtab is None:
            return ()
        symoff, nsyms, stroff, strsize = self.symtab
        nlist = NLIST_64 if self.is64 else NLIST_32
        raw = self.bytes_at(symoff, nsyms * nlist.size, "LC_SYMTAB symbols")
        strings = self.bytes_at(stroff, strsize, "LC_SYMTAB strings")
        out = []
        for index, (strx, ntype, sect, desc, value) in enumerate(nlist.iter_unpack(raw)):
            if strx >= max(strsize, 1) and strx:
                raise MachOError(f"symbol {index}", f"n_strx {strx} past the string table")
            end = strings.find(b"\0", strx)
            name = strings[strx : end if end >= 0 else len(strings)].decode("utf-8", "replace")
            out.append(Symbol(index, name, ntype, sect, desc, value))
        return tuple(out)

    def indirect_symbols(self) -> list[int]:
        if self.dysymtab is None:
            return []
        off, count = self.dysymtab[12], self.dysymtab[13]
        raw = self.bytes_at(off, 4 * count, "LC_DYSYMTAB indirect symbol table")
        return [v for (v,) in struct.iter_unpack("<I", raw)]


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse(data: bytes) -> MachOImage:
    """Read the header and the load commands; MachOError if the file is not readable."""
    img = MachOImage(data)
    if len(data) < HEADER_SIZE_32:
        raise MachOError("header", f"file of {len(data)} bytes is shorter than mach_header")
    magic, cputype, _, filetype, ncmds, sizeofcmds, flags = img.unpack("<IiiIIII", 0, "header")
    if magic not in (MH_MAGIC_64, MH_MAGIC):
        raise MachOError("header", f"magic {magic:#x} is neither MH_MAGIC_64 nor MH_MAGIC "
                                   "(only little-endian Mach-O is read)")
    img.is64 = magic == MH_MAGIC_64
    if len(data) < img.header_size:
        raise MachOError("header", f"file of {len(data)} bytes is shorter than mach_header_64")
    img.cputype, img.filetype, img.ncmds, img.sizeofcmds, img.flags = (
        cputype, filetype, ncmds, sizeofcmds, flags)
    if img.header_size + sizeofcmds > len(data):
        raise MachOError("header", f"sizeofcmds {sizeofcmds:#x} runs past the end of the file")
    offset = img.header_size
    end = offset + sizeofcmds
    for index in range(ncmds):
        where = f"load command {index}"
        if offset + 8 > end:
            raise MachOError(where, "starts past sizeofcmds")
        cmd, size = img.unpack("<II", offset, where)
        if size < 8 or offset + size > end:
            raise MachOError(where, f"cmdsize {size} is too small or runs past sizeofcmds")
        img.commands.append(LoadCommand(index, cmd, offset, size))
        _read_command(img, img.commands[-1])
        offset += size
    return img


def _read_command(img: MachOImage, lc: LoadCommand) -> None:
    where = f"load command {lc.index}"
    body = img.bytes_at(lc.offset, lc.size, where)

    def need(size: int) -> None:
        if lc.size < size:
            raise MachOError(where, f"cmdsize {lc.size} is smaller than the command ({size})")

    if lc.cmd == img.segment_command:
        head, each = SEGMENT_COMMAND_SIZE[lc.cmd], SECTION_SIZE[lc.cmd]
        need(head)
        name, vmaddr, vmsize, fileoff, filesize, maxprot, initprot, nsects, flags = (
            struct.unpack_from("<16sQQQQiiII" if img.is64 else "<16sIIIIiiII", body, 8))
        need(head + each * nsects)
        sections = []
        for k in range(nsects):
            fields = struct.unpack_from("<16s16sQQIIIIIIII" if img.is64 else "<16s16sIIIIIIIII",
                                        body, head + each * k)
            sections.append(Section(_cstr(fields[0]), _cstr(fields[1]), *fields[2:11]))
        img.segments.append(Segment(len(img.segments), lc.index, _cstr(name), vmaddr, vmsize,
                                    fileoff, filesize, maxprot, initprot, flags,
                                    tuple(sections)))
    elif lc.cmd in DYLIB_COMMANDS or lc.cmd in (LC_LOAD_DYLINKER, LC_ID_DYLIB):
        need(24 if lc.cmd != LC_LOAD_DYLINKER else 12)
        (name_off,) = struct.unpack_from("<I", body, 8)
        if not 8 <= name_off < lc.size:
            raise MachOError(where, f"name offset {name_off} is outside the command")
        name = _cstr(body[name_off:])
        if lc.cmd == LC_LOAD_DYLINKER:
            img.dylinker = name
            return
        current, compatibility = struct.unpack_from("<II", body, 16)
        if lc.cmd == LC_ID_DYLIB:
            img.dylib_id = Dylib(0, lc.cmd, name, current, compatibility)
        else:
            img.dylibs.append(Dylib(len(img.dylibs) + 1, lc.cmd, name, current,
                                    compatibility))
    elif lc.cmd == LC_SYMTAB:
        need(24)
        img.symtab = struct.unpack_from("<IIII", body, 8)
    elif lc.cmd == LC_DYSYMTAB:
        need(80)
        img.dysymtab = struct.unpack_from("<18I", body, 8)
    elif lc.cmd in (LC_DYLD_INFO, LC_DYLD_INFO_ONLY):
        need(48)
        w = struct.unpack_from("<10I", body, 8)
        img.dyld_info = DyldInfo(lc.cmd, (w[0], w[1]), (w[2], w[3]), (w[4], w[5]),
                                 (w[6], w[7]), (w[8], w[9]))
    elif lc.cmd in (LC_DYLD_CHAINED_FIXUPS, LC_DYLD_EXPORTS_TRIE):
        need(16)
        blob = struct.unpack_from("<II", body, 8)
        if lc.cmd == LC_DYLD_CHAINED_FIXUPS:
            img.chained_fixups = blob
        else:
            img.exports_trie = blob
    elif lc.cmd == LC_MAIN:
        need(24)
        (img.main_entryoff,) = struct.unpack_from("<Q", body, 8)
    elif lc.cmd == LC_UNIXTHREAD:
        _read_thread(img, body, where)


def _read_thread(img: MachOImage, body: bytes, where: str) -> None:
    """LC_UNIXTHREAD: a list of (flavor, count, state); x86_THREAD_STATE64 holds rip, and
    x86_THREAD_STATE32 (the only flavour an i386 file's entry is read from) eip."""
    cursor = 8
    while cursor + 8 <= len(body):
        flavor, count = struct.unpack_from("<II", body, cursor)
        cursor += 8
        if cursor + 4 * count > len(body):
            raise MachOError(where, f"thread state of {count} words runs past the command")
        if img.is64 and flavor == X86_THREAD_STATE64 and count == X86_THREAD_STATE64_COUNT:
            (img.thread_rip,) = struct.unpack_from("<Q", body, cursor + 8 * THREAD_RIP_INDEX)
        elif not img.is64 and flavor == X86_THREAD_STATE32 \
                and count == X86_THREAD_STATE32_COUNT:
            (img.thread_rip,) = struct.unpack_from("<I", body, cursor + 4 * THREAD_EIP_INDEX)
        cursor += 4 * count
        if flavor == 0 and count == 0:
            break
