"""Symbol versioning rules: .gnu.version parallels .dynsym, the version-needed and
version-definition chains are well formed, and every versym index names a version."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from oracle.check import consts as c
from oracle.check.image import ElfImage, Section
from oracle.check.registry import DL_VERSION, Finding, rule
from oracle.check.rules.hashes import sysv_hash
from oracle.check.tables import cstr, dyn_value, dynsym

TOPIC = "versions"
VER_NDX_GLOBAL = 1
VERSYM_HIDDEN = 0x8000


@dataclass
class Chain:
    """What walking a verneed/verdef chain found: problems and the indices it defines."""

    problems: list[Finding] = field(default_factory=list)
    indices: set[int] = field(default_factory=set)


def _strings(img: ElfImage, sec: Section) -> bytes:
    if 0 < sec.link < len(img.sections):
        return img.section_bytes(img.sections[sec.link])
    return b""


def _count(img: ElfImage, sec: Section, tag: int) -> int:
    value = dyn_value(img, tag)
    return sec.info if value is None else value


def walk_verneed(img: ElfImage, sec: Section) -> Chain:
    out = Chain()
    blob, names = img.section_bytes(sec), _strings(img, sec)
    count, off, seen = _count(img, sec, c.DT_VERNEEDNUM), 0, set()
    for n in range(count):
        where = f"{sec.name}+{off:#x}"
        if off in seen or off + 16 > len(blob):
            out.problems.append((where, (f"Verneed #{n} of {count} is outside the section or "
                                        "revisits an entry")))
            return out
        seen.add(off)
        vn_version, vn_cnt, vn_file, vn_aux, vn_next = img.unpack("HHIII", sec.offset + off, where)
        if vn_version != 1:
            out.problems.append((where, f"vn_version {vn_version}, expected 1"))
        if cstr(names, vn_file) is None:
            out.problems.append((where, f"vn_file {vn_file:#x} is not a string in .dynstr"))
        aux = off + vn_aux
        for k in range(vn_cnt):
            awhere = f"{sec.name}+{aux:#x}"
            if aux in seen or aux + 16 > len(blob) or aux < 0:
                out.problems.append((awhere, (f"Vernaux #{k} of {vn_cnt} is outside the section "
                                             "or revisits an entry")))
                break
            seen.add(aux)
            vna_hash, _flags, vna_other, vna_name, vna_next = img.unpack(
                "IHHII", sec.offset + aux, awhere)
            name = cstr(names, vna_name)
            if name is None:
                out.problems.append((awhere, f"vna_name {vna_name:#x} is not a string in .dynstr"))
            elif sysv_hash(name.encode("latin-1")) != vna_hash:
                out.problems.append((awhere, f"vna_hash {vna_hash:#x} is not the hash of {name!r}"))
            if vna_other in out.indices:
                out.problems.append((awhere, f"version index {vna_other} is defined twice"))
            out.indices.add(vna_other)
            if (vna_next == 0) != (k == vn_cnt - 1):
                out.problems.append((awhere, (f"vna_next {vna_next:#x} disagrees with vn_cnt "
                                             f"{vn_cnt}")))
                break
            aux += vna_next
        if (vn_next == 0) != (n == count - 1):
            out.problems.append((where, (f"vn_next {vn_next:#x} disagrees with the entry count "
                                        f"{count}")))
            return out
        off += vn_next
    return out


def walk_verdef(img: ElfImage, sec: Section) -> Chain:
    out = Chain()
    blob, names = img.section_bytes(sec), _strings(img, sec)
    count, off, seen = _count(img, sec, c.DT_VERDEFNUM), 0, set()
    for n in range(count):
        where = f"{sec.name}+{off:#x}"
        if off in seen or off + 20 > len(blob):
            out.problems.append((where, (f"Verdef #{n} of {count} is outside the section or "
                                        "revisits an entry")))
            return out
        seen.add(off)
        vd_version, _flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next = img.unpack(
            "HHHHIII", sec.offset + off, where)
        if vd_version != 1:
            out.problems.append((where, f"vd_version {vd_version}, expected 1"))
        if vd_cnt and 0 <= off + vd_aux <= len(blob) - 8:
            vda_name = img.unpack("II", sec.offset + off + vd_aux, where)[0]
            name = cstr(names, vda_name)
            if name is None:
                out.problems.append((where, f"vda_name {vda_name:#x} is not a string"))
            elif sysv_hash(name.encode("latin-1")) != vd_hash:
                out.problems.append((where, f"vd_hash {vd_hash:#x} is not the hash of {name!r}"))
        else:
            out.problems.append((where, "Verdef without a Verdaux inside the section"))
        out.indices.add(vd_ndx)
        if (vd_next == 0) != (n == count - 1):
            out.problems.append((where, (f"vd_next {vd_next:#x} disagrees with the entry count "
                                        f"{count}")))
            return out
        off += vd_next
    return out


@rule("ELF-VER-COUNT", TOPIC, ".gnu.version has exactly one entry per .dynsym symbol",
      DL_VERSION)
def versym_count(img: ElfImage) -> Iterator[Finding]:
    syms = dynsym(img)
    for sec in img.sections_of_type(c.SHT_GNU_VERSYM):
        if sec.size != 2 * len(syms):
            yield sec.name, f"{sec.size // 2} entries for {len(syms)} dynamic symbols"


@rule("ELF-VER-NEED", TOPIC,
      "the version-needed chain is well formed: vn_next/vna_next stay in the section, counts "
      "agree, names are .dynstr strings with matching hashes", DL_VERSION)
def verneed(img: ElfImage) -> Iterator[Finding]:
    for sec in img.sections_of_type(c.SHT_GNU_VERNEED):
        yield from walk_verneed(img, sec).problems


@rule("ELF-VER-DEF", TOPIC,
      "the version-definition chain is well formed (vd_next in range, counts agree, names and "
      "hashes match)", DL_VERSION)
def verdef(img: ElfImage) -> Iterator[Finding]:
    for sec in img.sections_of_type(c.SHT_GNU_VERDEF):
        yield from walk_verdef(img, sec).problems


@rule("ELF-VER-INDEX", TOPIC,
      "every .gnu.version entry is 0, 1, or an index a Vernaux or Verdef defines", DL_VERSION)
def versym_index(img: ElfImage) -> Iterator[Finding]:
    versyms = img.sections_of_type(c.SHT_GNU_VERSYM)
    if not versyms:
        return
    defined = {0, VER_NDX_GLOBAL}
    for sec in img.sections_of_type(c.SHT_GNU_VERNEED):
        defined |= walk_verneed(img, sec).indices
    for sec in img.sections_of_type(c.SHT_GNU_VERDEF):
        defined |= walk_verdef(img, sec).indices
    syms = dynsym(img)
    sec = versyms[0]
    for i, (value,) in enumerate(img.table("H", sec.offset, sec.size, sec.name)):
        index = value & ~VERSYM_HIDDEN
        if index not in defined:
            name = syms[i].name if i < len(syms) else "?"
            yield f"{sec.name}[{i}] {name}", f"version index {index} is not defined"
