"""Mach-O serialisation (MH_EXECUTE, MH_DYLIB, MH_BUNDLE): the header, load commands
and __LINKEDIT.

Only this module knows the byte layout of load commands.  The link (link.py) decides
what goes where; this writes it, in the order ld64 and ld64.lld use:

    __PAGEZERO, __TEXT, __DATA, __LINKEDIT, LC_DYLD_INFO_ONLY (modern), LC_SYMTAB,
    LC_DYSYMTAB, LC_LOAD_DYLINKER, LC_UUID, LC_BUILD_VERSION, LC_MAIN or LC_UNIXTHREAD,
    LC_LOAD_DYLIB per library.

Where the word size shows (mach_header 28 or 32 bytes, LC_SEGMENT or LC_SEGMENT_64 with
68- or 80-byte sections, the thread state of LC_UNIXTHREAD) the arch's MachoTraits
(linker/targets.py) says which; the x86-64 record is the default.  LC_UNIXTHREAD is
written for classic outputs and for modern ones whose minimum macOS predates LC_MAIN.
A dylib or bundle has no __PAGEZERO, no LC_LOAD_DYLINKER and no entry command; a dylib
has LC_ID_DYLIB (its install name and versions) after LC_DYSYMTAB, where ld64 puts it.
LC_BUILD_VERSION is written even for 10.6-era minimums (ld64 would write
LC_VERSION_MIN_MACOSX there); dyld of that era ignores a command it does not know.
"""

from __future__ import annotations

import hashlib
import struct

from ..errors import LinkError
from ..layout import OutputSection
from ..records import dataclass, field
from ..targets import X86_64, MachoTraits

MH_MAGIC_64, MH_EXECUTE, MH_DYLIB, MH_BUNDLE = 0xFEEDFACF, 2, 6, 8
LC_ID_DYLIB = 0xD
CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL_LIB64 = 0x01000007, 0x80000003
MH_NOUNDEFS, MH_DYLDLINK, MH_TWOLEVEL, MH_PIE = 0x1, 0x4, 0x80, 0x200000
LC_SEGMENT_64, LC_SYMTAB, LC_DYSYMTAB, LC_UNIXTHREAD = 0x19, 0x2, 0xB, 0x5
LC_LOAD_DYLIB, LC_LOAD_DYLINKER, LC_UUID, LC_BUILD_VERSION = 0xC, 0xE, 0x1B, 0x32
LC_DYLD_INFO_ONLY, LC_MAIN = 0x80000022, 0x80000028
LC_RPATH = 0x8000001C
LC_DYLD_EXPORTS_TRIE, LC_DYLD_CHAINED_FIXUPS = 0x80000033, 0x80000034
VM_PROT_R, VM_PROT_W, VM_PROT_X = 1, 2, 4
PLATFORM_MACOS = 1
X86_THREAD_STATE64, X86_THREAD_STATE64_COUNT = 4, 42
DYLD = "/usr/lib/dyld"
HEADER_SIZE = 32
SEGMENT_SIZE, SECTION_SIZE = 72, 80
assert X86_64.macho is not None
_X86_64: MachoTraits = X86_64.macho  # the default, for callers that predate i386


@dataclass(frozen=True)
class ImageKind:
    """What the output is: its mach_header filetype and, for a dylib, its identity
    (LC_ID_DYLIB: install name, current and compatibility versions as xxxx.yy.zz)."""

    filetype: int = MH_EXECUTE
    install_name: str = ""
    current_version: int = 0x10000
    compatibility_version: int = 0x10000
    flat_imports: bool = False  # -undefined dynamic_lookup left some: no MH_NOUNDEFS

    @property
    def executable(self) -> bool:
        return self.filetype == MH_EXECUTE


EXECUTABLE = ImageKind()


@dataclass
class SegmentPlan:
    name: str
    vmaddr: int
    vmsize: int
    fileoff: int
    filesize: int
    prot: int
    sections: list[OutputSection] = field(default_factory=list)


@dataclass
class SectionHeader:
    out: OutputSection
    flags: int
    reserved1: int = 0
    reserved2: int = 0


@dataclass
class LinkeditPlan:
    rebase: bytes = b""
    bind: bytes = b""
    weak_bind: bytes = b""  # weak.py: sites dyld coalesces by name across images
    lazy_bind: bytes = b""
    exports: bytes = b""
    chained_fixups: bytes = b""  # LC_DYLD_CHAINED_FIXUPS' payload; replaces the opcodes
    symbols: bytes = b""  # nlist_64 entries
    nsyms: int = 0
    indirect: bytes = b""
    nindirect: int = 0
    strings: bytes = b"\0"
    ilocal: int = 0
    nlocal: int = 0
    iextdef: int = 0
    nextdef: int = 0
    iundef: int = 0
    nundef: int = 0
    # classic mode's LC_DYSYMTAB relocations (relocation_info entries, see classic_relocs)
    local_relocs: bytes = b""
    nlocrel: int = 0
    external_relocs: bytes = b""
    nextrel: int = 0


def _dylib_cmd_size(name: str) -> int:
    # the encoded length: an install name from a .tbd may hold any character
    return (24 + len(name.encode("utf-8", "surrogateescape")) + 1 + 7) & ~7


def _dylib_command(cmd: int, name: str, current: int, compatibility: int) -> bytes:
    """LC_LOAD_DYLIB or LC_ID_DYLIB: dylib_command (name offset, timestamp 2 as ld64
    writes it, the versions) and the name padded to 8 bytes."""
    raw = name.encode("utf-8", "surrogateescape") + b"\0"
    size = _dylib_cmd_size(name)
    return struct.pack("<IIIIII", cmd, size, 24, 2, current, compatibility) \
        + raw.ljust(size - 24, b"\0")


def load_commands_size(nsections: list[int], dylibs: list[str], classic: bool,
                       macho: MachoTraits | None = None,
                       unixthread: bool | None = None, chained: bool = False,
                       kind: ImageKind = EXECUTABLE, rpaths: tuple[str, ...] = ()
                       ) -> tuple[int, int]:
    """(number of commands, their total size), knowing only counts: needed before layout.
    `unixthread` (default: classic) chooses LC_UNIXTHREAD over LC_MAIN."""
    m = macho or _X86_64
    seg, sect = m.segment_size, m.section_size
    sizes = [seg] if kind.executable else []  # __PAGEZERO
    sizes += [seg + n * sect for n in nsections]
    sizes.append(seg)  # __LINKEDIT
    if chained:
        sizes += [16, 16]  # LC_DYLD_CHAINED_FIXUPS, LC_DYLD_EXPORTS_TRIE
    elif not classic:
        sizes.append(48)  # LC_DYLD_INFO_ONLY
    sizes += [24, 80, 24, 24]  # symtab dysymtab uuid build_version
    if kind.filetype == MH_DYLIB:
        sizes.append(_dylib_cmd_size(kind.install_name))
    if kind.executable:
        sizes.append((12 + len(DYLD) + 1 + 7) & ~7)
        thread = classic if unixthread is None else unixthread
        sizes.append(16 + 4 * m.thread_count if thread else 24)
    sizes += [_dylib_cmd_size(d) for d in dylibs]
    sizes += [len(_rpath_command(r)) for r in rpaths]
    return len(sizes), sum(sizes)


def _rpath_command(path: str) -> bytes:
    """LC_RPATH: a run path dyld tries for `@rpath/` install names (path offset 12, the
    string padded to 8 bytes)."""
    raw = path.encode("utf-8", "surrogateescape") + b"\0"
    size = (12 + len(raw) + 7) & ~7
    return struct.pack("<III", LC_RPATH, size, 12) + raw.ljust(size - 12, b"\0")


def _name16(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")[:16].ljust(16, b"\0")


def _segment(seg: SegmentPlan, headers: list[SectionHeader], m: MachoTraits) -> bytes:
    wide = m.segment_cmd == LC_SEGMENT_64  # 64-bit addresses and sizes, section reserved3
    if seg.vmaddr + seg.vmsize > (1 << (64 if wide else 32)):  # e.g. a huge -pagezero_size
        raise LinkError(f"segment {seg.name} ends at {seg.vmaddr + seg.vmsize:#x}, past the "
                        f"{64 if wide else 32}-bit address space")
    out = bytearray(struct.pack("<II16sQQQQiiII" if wide else "<II16sIIIIiiII", m.segment_cmd,
                                m.segment_size + m.section_size * len(headers),
                                _name16(seg.name), seg.vmaddr, seg.vmsize, seg.fileoff,
                                seg.filesize, seg.prot, seg.prot, len(headers), 0))
    for h in headers:
        segname, _, sectname = h.out.name.partition(",")
        align = max(0, h.out.align.bit_length() - 1)
        offset = 0 if h.out.nobits else h.out.file_offset
        fields = [_name16(sectname), _name16(segname), h.out.addr, h.out.size, offset, align,
                  0, 0, h.flags, h.reserved1, h.reserved2]
        out += struct.pack("<16s16sQQIIIIIIII", *fields, 0) if wide else \
            struct.pack("<16s16sIIIIIIIII", *fields)
    return bytes(out)


def serialize(image: bytearray, segments: list[SegmentPlan], headers: dict[str, SectionHeader],
              linkedit: LinkeditPlan, linkedit_offset: int, dylibs: list[str], entry: int,
              classic: bool, min_os: int, sdk: int, pie: bool = True,
              macho: MachoTraits | None = None, unixthread: bool | None = None,
              extra_flags: int = 0, stack_size: int = 0, kind: ImageKind = EXECUTABLE,
              dylib_versions: dict[str, tuple[int, int]] | None = None,
              rpaths: tuple[str, ...] = ()) -> bytes:
    """Append __LINKEDIT to `image` and write the header and load commands in front.
    Link-edit data in ld64's order: local relocations, dyld info, symbols, external
    relocations, indirect symbols, strings."""
    m = macho or _X86_64
    thread = classic if unixthread is None else unixthread
    le = bytearray()

    def put(blob: bytes) -> tuple[int, int]:
        if not blob:
            return 0, 0
        start = linkedit_offset + len(le)
        le.extend(blob)
        le.extend(bytes(-len(le) % 8))
        return start, len(blob)

    locrel = put(linkedit.local_relocs)
    rebase = put(linkedit.rebase)
    bind = put(linkedit.bind)
    weak = put(linkedit.weak_bind)
    lazy = put(linkedit.lazy_bind)
    chained = put(linkedit.chained_fixups)
    export = put(linkedit.exports)
    symoff, _ = put(linkedit.symbols)
    extrel = put(linkedit.external_relocs)
    indoff, _ = put(linkedit.indirect)
    stroff, strsize = put(linkedit.strings)
    text = segments[0]
    page = 0x1000
    link_seg = SegmentPlan("__LINKEDIT", segments[-1].vmaddr + segments[-1].vmsize,
                           (len(le) + page - 1) & -page, linkedit_offset, len(le), VM_PROT_R)

    cmds = [_segment(SegmentPlan("__PAGEZERO", 0, text.vmaddr, 0, 0, 0), [], m)] \
        if kind.executable else []
    for seg in segments:
        cmds.append(_segment(seg, [headers[o.name] for o in seg.sections], m))
    cmds.append(_segment(link_seg, [], m))
    if linkedit.chained_fixups:
        cmds.append(struct.pack("<IIII", LC_DYLD_CHAINED_FIXUPS, 16, *chained))
        cmds.append(struct.pack("<IIII", LC_DYLD_EXPORTS_TRIE, 16, *export))
    elif not classic:
        cmds.append(struct.pack("<II10I", LC_DYLD_INFO_ONLY, 48, *rebase, *bind, *weak, *lazy,
                                *export))
    cmds.append(struct.pack("<IIIIII", LC_SYMTAB, 24, symoff if linkedit.nsyms else 0,
                            linkedit.nsyms, stroff, strsize))
    cmds.append(struct.pack("<II18I", LC_DYSYMTAB, 80, linkedit.ilocal, linkedit.nlocal,
                            linkedit.iextdef, linkedit.nextdef, linkedit.iundef, linkedit.nundef,
                            0, 0, 0, 0, 0, 0, indoff if linkedit.nindirect else 0,
                            linkedit.nindirect, extrel[0], linkedit.nextrel, locrel[0],
                            linkedit.nlocrel))
    if kind.filetype == MH_DYLIB:
        cmds.append(_dylib_command(LC_ID_DYLIB, kind.install_name, kind.current_version,
                                   kind.compatibility_version))
    if kind.executable:
        dyld = DYLD.encode() + b"\0"
        size = (12 + len(dyld) + 7) & ~7
        cmds.append(struct.pack("<III", LC_LOAD_DYLINKER, size, 12)
                    + dyld.ljust(size - 12, b"\0"))
    uuid_at = sum(len(c) for c in cmds)
    cmds.append(struct.pack("<II16s", LC_UUID, 24, bytes(16)))
    cmds.append(struct.pack("<IIIIII", LC_BUILD_VERSION, 24, PLATFORM_MACOS, min_os, sdk, 0))
    if not kind.executable:
        pass  # a dylib or bundle has no entry point
    elif thread:
        # x86_thread_state64 (21 quadwords, rip the 17th) or i386_thread_state (16 words:
        # eax ebx ecx edx edi esi ebp esp ss eflags eip cs ds es fs gs).
        wide = m.thread_count == X86_THREAD_STATE64_COUNT
        regs = [0] * (m.thread_count // 2 if wide else m.thread_count)
        regs[m.thread_pc] = entry
        cmds.append(struct.pack(f"<IIII{len(regs)}{'Q' if wide else 'I'}", LC_UNIXTHREAD,
                                16 + 4 * m.thread_count, m.thread_flavor, m.thread_count,
                                *regs))
    else:
        if entry < text.vmaddr:  # an absolute (N_ABS) entry symbol below the image
            raise LinkError(f"-e (entry point): address {entry:#x} is below __TEXT "
                            f"({text.vmaddr:#x}): LC_MAIN's entryoff cannot hold it")
        cmds.append(struct.pack("<IIQQ", LC_MAIN, 24, entry - text.vmaddr, stack_size))
    for name in dylibs:  # versions: the dylib's (ld64 records them), else 1.0.0
        current, compatibility = (dylib_versions or {}).get(name, (0x10000, 0x10000))
        cmds.append(_dylib_command(LC_LOAD_DYLIB, name, current, compatibility))
    cmds += [_rpath_command(r) for r in rpaths]  # after the dylibs, as ld64 writes them
    body = b"".join(cmds)
    # MH_PIE is an executable's (dyld slides every dylib and bundle); MH_NOUNDEFS says
    # nothing is left to flat lookup.
    flags = (0 if kind.flat_imports else MH_NOUNDEFS) | MH_DYLDLINK | MH_TWOLEVEL \
        | (MH_PIE if pie and kind.executable else 0) | extra_flags
    header = struct.pack("<IIIIIII", m.magic, m.cputype, m.cpusubtype, kind.filetype, len(cmds),
                         len(body), flags) + bytes(m.header_size - 28)  # 64-bit: reserved
    assert m.header_size + len(body) <= segments[0].sections[0].file_offset \
        if segments[0].sections else True, "load commands overlap the first section"
    out = bytearray(image)
    out[:m.header_size + len(body)] = header + body
    out[linkedit_offset:] = b""
    out.extend(bytes(linkedit_offset - len(out)))
    out.extend(le)
    uuid = hashlib.md5(bytes(out)).digest()
    pos = m.header_size + uuid_at + 8
    out[pos:pos + 16] = uuid
    return bytes(out)
