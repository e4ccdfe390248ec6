""".eh_frame_hdr: the sorted FDE table unwinders find through PT_GNU_EH_FRAME.

Without it, `_Unwind_Find_FDE` cannot find the executable's unwind tables (C++ exceptions,
backtraces).  The header (LSB, "Exception Frame Header") is:

    u8 version = 1, u8 eh_frame_ptr_enc, u8 fde_count_enc, u8 table_enc,
    eh_frame_ptr, fde_count, then fde_count pairs (initial_location, fde_address)

with the table encoded DW_EH_PE_datarel|sdata4 (relative to the header's start) and sorted
by initial_location.  We read the FDEs out of the *relocated* output .eh_frame.
"""

from __future__ import annotations

import struct

from ..errors import LinkError
from ..layout import OutputSection
from ..model import ObjectFile, SectionFlags, SectionRole
from ..targets import word_format
from .headers import SHT_PROGBITS

DW_EH_PE_absptr, DW_EH_PE_udata2, DW_EH_PE_udata4, DW_EH_PE_udata8 = 0x00, 0x02, 0x03, 0x04
DW_EH_PE_sdata2, DW_EH_PE_sdata4, DW_EH_PE_sdata8 = 0x0A, 0x0B, 0x0C
DW_EH_PE_pcrel, DW_EH_PE_datarel, DW_EH_PE_omit = 0x10, 0x30, 0xFF
HEADER_SIZE = 12
_FORMATS = {DW_EH_PE_udata2: "<H", DW_EH_PE_udata4: "<I", DW_EH_PE_udata8: "<Q",
            DW_EH_PE_sdata2: "<h", DW_EH_PE_sdata4: "<i", DW_EH_PE_sdata8: "<q"}


def _records(data: bytes | memoryview, where: str) -> list[tuple[int, int, int]]:
    """(offset, length incl. header, CIE pointer field or 0 for a CIE) of each record."""
    out = []
    pos = 0
    while pos + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, pos)
        if length == 0:  # a terminator (crtend.o's __FRAME_END__); more may follow
            pos += 4
            continue
        header = 4
        if length == 0xFFFFFFFF:
            raise LinkError("64-bit DWARF .eh_frame records are not supported", file=where,
                            section=".eh_frame", offset=pos)
        if pos + header + length > len(data) or length < 4:
            raise LinkError("truncated .eh_frame record", file=where, section=".eh_frame",
                            offset=pos)
        (cie_id,) = struct.unpack_from("<I", data, pos + header)
        out.append((pos, header + length, cie_id))
        pos += header + length
    return out


def count_fdes(data: bytes | memoryview, where: str) -> int:
    return sum(1 for _, _, cie in _records(data, where) if cie != 0)


def _uleb(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fde_encoding(data: bytes | memoryview, cie_offset: int, word: int) -> int:
    """The 'R' augmentation's pointer encoding of a CIE (absptr when absent)."""
    pos = cie_offset + 8
    version = data[pos]
    pos += 1
    end = bytes(data[pos:pos + 64]).index(b"\0")
    aug = bytes(data[pos:pos + end]).decode("ascii", "replace")
    pos += end + 1
    if not aug.startswith("z"):
        return DW_EH_PE_absptr
    _, pos = _uleb(data, pos)  # code alignment
    _, pos = _uleb(data, pos)  # data alignment (sleb: only skipped)
    if version == 1:
        pos += 1
    else:
        _, pos = _uleb(data, pos)
    _, pos = _uleb(data, pos)  # augmentation data length
    for c in aug[1:]:
        if c == "R":
            return int(data[pos])
        if c == "P":
            enc = data[pos]
            pos += 1 + _encoded_size(enc, word)
        elif c in "LB":
            pos += 1
    return DW_EH_PE_absptr


def _encoded_size(enc: int, word: int) -> int:
    fmt = _FORMATS.get(enc & 0x0F)
    return struct.calcsize(fmt) if fmt else word


def build_eh_frame_hdr(frame: bytes | memoryview, frame_addr: int, hdr_addr: int,
                       word: int, where: str) -> bytes:
    entries = []
    cie_encoding: dict[int, int] = {}
    for offset, _, cie in _records(frame, where):
        if cie == 0:
            continue
        cie_offset = offset + 4 - cie
        field = offset + 8
        try:
            enc = cie_encoding.get(cie_offset)
            if enc is None:
                enc = cie_encoding[cie_offset] = _fde_encoding(frame, cie_offset, word)
            fmt = _FORMATS.get(enc & 0x0F, "<" + word_format(word))
            (value,) = struct.unpack_from(fmt, frame, field)
        except (struct.error, IndexError, ValueError):
            raise LinkError("an FDE's CIE pointer or initial location is unreadable",
                            file=where, section=".eh_frame", offset=offset) from None
        if enc & 0x70 == DW_EH_PE_pcrel:
            value += frame_addr + field
        entries.append((value & ((1 << (8 * word)) - 1), frame_addr + offset))
    entries.sort()
    out = bytearray(struct.pack("<BBBB", 1, DW_EH_PE_pcrel | DW_EH_PE_sdata4, DW_EH_PE_udata4,
                                DW_EH_PE_datarel | DW_EH_PE_sdata4))
    out += struct.pack("<iI", frame_addr - (hdr_addr + 4), len(entries))
    for initial, fde in entries:
        out += struct.pack("<ii", _s32(initial - hdr_addr), _s32(fde - hdr_addr))
    return bytes(out)


def _input_at(frame: OutputSection, at: int, rule: str) -> LinkError:
    """The error naming the input .eh_frame that output offset `at` came from."""
    for sec, start in zip(frame.inputs, frame.offsets, strict=True):
        if start <= at < start + max(sec.size, 1):
            return LinkError(rule, file=sec.file.path, section=".eh_frame", offset=at - start)
    last = frame.inputs[-1] if frame.inputs else None
    return LinkError(rule, file=last.file.path if last else None, section=".eh_frame")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def add_eh_frame_hdr(outs: dict[str, OutputSection]) -> None:
    """Plan .eh_frame_hdr (its size is fixed by the number of FDEs the inputs carry)."""
    frame = outs[".eh_frame"]
    fdes = sum(count_fdes(sec.data, sec.file.path) for sec in frame.inputs
               if sec.data is not None)
    out = OutputSection(".eh_frame_hdr", SectionFlags.ALLOC, align=4)
    out.size = HEADER_SIZE + 8 * fdes
    out.meta.update(type=SHT_PROGBITS, entsize=0)
    outs[".eh_frame_hdr"] = out


def render_eh_frame_hdr(image: bytearray, hdr: OutputSection, frame: OutputSection,
                        word: int) -> None:
    """Fill .eh_frame_hdr from the relocated .eh_frame already in `image`."""
    frame_bytes = bytes(image[frame.file_offset:frame.file_offset + frame.size])
    try:
        data = build_eh_frame_hdr(frame_bytes, frame.addr, hdr.addr, word, "<output>")
    except (LinkError, struct.error, IndexError, ValueError) as err:
        # The records parsed in every input before relocation; a relocation of an input
        # (its r_offset on a length or CIE pointer) broke them: name that input.
        at = err.offset if isinstance(err, LinkError) and err.offset is not None else 0
        raise _input_at(frame, at, "an .eh_frame record no longer parses after relocation "
                        "(a relocation writes over its length or CIE pointer)") from None
    data = data[:hdr.size].ljust(hdr.size, b"\0")
    image[hdr.file_offset:hdr.file_offset + hdr.size] = data


def pack_eh_frame_inputs(objects: list[ObjectFile]) -> None:
    """Concatenate .eh_frame inputs without gaps.  Unwinders that walk .eh_frame from
    crtbegin's __EH_FRAME_BEGIN__ (a static executable registers it with
    __register_frame_info; there is no PT_GNU_EH_FRAME unless --eh-frame-hdr) stop at the
    first zero word, which alignment padding between two inputs would be: crt1.o's 0x5c
    bytes followed by an 8-aligned input put a terminator right at __EH_FRAME_BEGIN__, and
    every C++ throw aborted.  Records are 4-byte multiples, so 4-byte alignment packs them
    (GNU ld instead widens the previous record over the padding)."""
    for obj in objects:
        for sec in obj.sections:
            if (sec is not None and sec.file is obj and sec.role is SectionRole.EH_FRAME
                    and sec.size % 4 == 0):
                sec.align = min(sec.align, 4)
