"""Build-id rules: a `.note.gnu.build-id` (NT_GNU_BUILD_ID) note is well formed, mapped and
found by PT_NOTE (ELF-BUILD-ID), and a 20-byte (sha1) descriptor is the hash its
linker defines (ELF-BUILD-ID-HASH: a test that patches a linked file's bytes trips it too).

The linkers agree on what the descriptor is only in spirit: a hash of the output with the
descriptor zeroed.  The exact byte stream differs, so the rule recomputes each known one:

* whole file (gold, linkharness): the file as written, descriptor zeroed;
* lld: the file in 1 MiB chunks, each hashed, then the hash of the concatenated hashes;
* mold: the same tree over 4 MiB shards with SHA-256, truncated to the descriptor size;
* GNU ld (bfd's elf_checksum_contents): the ELF header with e_phoff/e_shoff zeroed, every
  program header, then per section its header with sh_offset zeroed and its contents
  (none for SHT_NOBITS, empty ones, .symtab/.strtab/.shstrtab; the whole build-id section
  zeroed, as it was when bfd hashed it).

The build id survives what is done to a file after the link (strip, objcopy
--add-gnu-debuglink: a distribution's binaries), its bytes do not: the hash is recomputed only
for a file that looks as its linker wrote it, with a .symtab and without .gnu_debuglink,
.gnu_debugaltlink or .gnu_debugdata (so an output linked with -s is only checked for form).

A 16-byte descriptor is an md5 or a `--build-id=uuid`, and only mold gives its uuids RFC
4122's version-4 bits: GNU ld and gold draw all 16 bytes at random.  So a 16-byte
descriptor is not recomputed (the rule once called every GNU ld and gold uuid output
wrong); a stale or patched md5 is missed, a sha1 is not.
A 0xHEX descriptor of 20 bytes is reported: the rule cannot tell it from a wrong hash.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator

from oracle.check import consts as c
from oracle.check.image import ElfImage, Section
from oracle.check.registry import GABI, Finding, rule

TOPIC = "buildid"
NOTE_SECTION = ".note.gnu.build-id"
NT_GNU_BUILD_ID = 3
SHA1_SIZE = 20
_UNHASHED_BY_BFD = (".symtab", ".strtab", ".shstrtab")
_ADDED_AFTER_LINK = frozenset({".gnu_debuglink", ".gnu_debugaltlink", ".gnu_debugdata"})


@rule("ELF-BUILD-ID", TOPIC,
      ".note.gnu.build-id holds one NT_GNU_BUILD_ID note owned by GNU, inside a PT_NOTE and a "
      "PT_LOAD", GABI)
def build_id(img: ElfImage) -> Iterator[Finding]:
    sec = img.section(NOTE_SECTION)
    if sec is None:
        return
    where = NOTE_SECTION
    if sec.type != c.SHT_NOTE:
        yield where, f"sh_type {sec.type}, want SHT_NOTE"
    if not sec.flags & c.SHF_ALLOC:
        yield where, "not SHF_ALLOC (a loaded program cannot find its build id)"
    if sec.offset + sec.size > len(img.data) or sec.size < 12:
        yield where, f"size {sec.size:#x} at {sec.offset:#x} cannot hold a note"
        return
    data = img.data[sec.offset:sec.offset + sec.size]
    namesz, descsz, ntype = struct.unpack_from(img.endian + "III", data, 0)
    desc_at = 12 + ((namesz + 3) & -4)
    if namesz != 4 or data[12:16] != b"GNU\0":
        yield where, f"owner {bytes(data[12:12 + min(namesz, 16)])!r}, want 'GNU\\0'"
    if ntype != NT_GNU_BUILD_ID:
        yield where, f"note type {ntype}, want NT_GNU_BUILD_ID (3)"
    if descsz == 0 or desc_at + descsz > sec.size:
        yield where, f"descriptor size {descsz} does not fit the section ({sec.size:#x} bytes)"
        return
    if sec.flags & c.SHF_ALLOC:
        notes = [s for s in img.segments if s.type == c.PT_NOTE
                 and s.offset <= sec.offset and sec.offset + sec.size <= s.offset + s.filesz]
        if not notes:
            yield where, f"[{sec.offset:#x}, +{sec.size:#x}) is in no PT_NOTE"
        if img.load_at(sec.addr, sec.size) is None:
            yield where, f"{sec.addr:#x} is in no PT_LOAD"


@rule("ELF-BUILD-ID-HASH", TOPIC,
      "a sha1-sized NT_GNU_BUILD_ID descriptor equals a recomputation of the output's "
      "hash (any byte changed after the linker hashed the file shows here too)", GABI)
def build_id_hash(img: ElfImage) -> Iterator[Finding]:
    sec = img.section(NOTE_SECTION)
    if sec is None or sec.type != c.SHT_NOTE or sec.size < 12 \
            or sec.offset + sec.size > len(img.data):
        return  # ELF-BUILD-ID reports the form
    data = img.data[sec.offset:sec.offset + sec.size]
    namesz, descsz, ntype = struct.unpack_from(img.endian + "III", data, 0)
    desc_at = 12 + ((namesz + 3) & -4)
    if ntype != NT_GNU_BUILD_ID or desc_at + descsz > sec.size:
        return
    desc = bytes(data[desc_at:desc_at + descsz])
    if descsz != SHA1_SIZE or _changed_after_link(img):
        return  # md5 or uuid: see the module's note
    start = sec.offset + desc_at
    zeroed = img.data[:start] + bytes(descsz) + img.data[start + descsz:]
    if desc not in _recomputations(img, zeroed, sec):
        yield NOTE_SECTION, (f"descriptor {desc.hex()} is no sha1 of the output as "
                             "gold/linkharness, lld, mold or GNU ld hash it")


def _changed_after_link(img: ElfImage) -> bool:
    names = {sec.name for sec in img.sections}
    return ".symtab" not in names or bool(names & _ADDED_AFTER_LINK)


def _tree(data: bytes, chunk: int, algo: Callable[[bytes], hashlib._Hash], size: int) -> bytes:
    parts = b"".join(algo(data[i:i + chunk]).digest() for i in range(0, len(data), chunk))
    return algo(parts).digest()[:size]


def _recomputations(img: ElfImage, zeroed: bytes, note: Section) -> set[bytes]:
    algo, size = hashlib.sha1, SHA1_SIZE
    return {
        algo(zeroed).digest(),
        _tree(zeroed, 1 << 20, algo, size),
        _tree(zeroed, 4 << 20, hashlib.sha256, size),
        _bfd_checksum(img, note, algo),
    }


def _bfd_checksum(img: ElfImage, note: Section,
                  algo: Callable[[bytes], hashlib._Hash]) -> bytes:
    h = algo(b"")
    data, hdr, e = img.data, img.header, img.endian
    word = "Q" if img.is64 else "I"
    ehsize = 64 if img.is64 else 52
    ehdr = bytearray(data[:ehsize])
    struct.pack_into(e + word + word, ehdr, 32 if img.is64 else 28, 0, 0)
    h.update(ehdr)
    h.update(data[hdr.phoff:hdr.phoff + hdr.phnum * hdr.phentsize])
    offset_field = 24 if img.is64 else 16
    for sec in img.sections:
        shdr = bytearray(data[hdr.shoff + sec.index * hdr.shentsize:
                              hdr.shoff + (sec.index + 1) * hdr.shentsize])
        struct.pack_into(e + word, shdr, offset_field, 0)
        h.update(shdr)
        if sec.type == c.SHT_NOBITS or sec.size == 0 or sec.name in _UNHASHED_BY_BFD:
            continue
        if sec.index == note.index:
            h.update(bytes(sec.size))
        else:
            h.update(data[sec.offset:sec.offset + sec.size])
    return h.digest()
