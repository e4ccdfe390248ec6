"""Mutation tests: corrupt exactly the field a rule guards in a good binary and the rule
must fire.  Fields are located with pyelftools, independently of the checker's reader."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile

from oracle.check import check

DT = {"DT_STRTAB": 5, "DT_SYMTAB": 6, "DT_STRSZ": 10, "DT_SYMENT": 11, "DT_PLTREL": 20,
      "DT_DEBUG": 21}


class Mutable:
    """A good binary's bytes, a pyelftools view of the original, and field writers."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)
        self.elf = ELFFile(io.BytesIO(data))
        self.is64 = self.elf.elfclass == 64
        self.word = "Q" if self.is64 else "I"
        self.wsize = 8 if self.is64 else 4

    def sec(self, name: str) -> Any:
        sec = self.elf.get_section_by_name(name)
        assert sec is not None, name
        return sec

    def offset_of(self, vaddr: int) -> int:
        return next(iter(self.elf.address_offsets(vaddr)))

    def get(self, fmt: str, offset: int) -> int:
        return int(struct.unpack_from("<" + fmt, self.data, offset)[0])

    def put(self, fmt: str, offset: int, value: int) -> None:
        struct.pack_into("<" + fmt, self.data, offset, value)

    def phdr_offset(self, index: int) -> int:
        return int(self.elf["e_phoff"]) + index * int(self.elf["e_phentsize"])

    def shdr_offset(self, name: str) -> int:
        index = next(i for i, s in enumerate(self.elf.iter_sections()) if s.name == name)
        return int(self.elf["e_shoff"]) + index * int(self.elf["e_shentsize"])

    def load_indices(self) -> list[int]:
        return [i for i, s in enumerate(self.elf.iter_segments()) if s["p_type"] == "PT_LOAD"]

    def dyn_val_offset(self, tag: int) -> int:
        dyn = self.sec(".dynamic")
        ent = 16 if self.is64 else 8
        for pos in range(dyn["sh_offset"], dyn["sh_offset"] + dyn["sh_size"], ent):
            if self.get("q" if self.is64 else "i", pos) == tag:
                return pos + ent // 2
        raise AssertionError(f"no dynamic tag {tag}")

    def plt_relocs(self) -> list[Any]:
        return list(self.sec(".rela.plt" if self.is64 else ".rel.plt").iter_relocations())

    def reloc_offset(self, sec_name: str, index: int) -> int:
        ent = (24 if self.is64 else 8) if sec_name.startswith(".rela") or not self.is64 else 16
        return int(self.sec(sec_name)["sh_offset"]) + index * ent

    def plt_jump_to(self, slot: int) -> int:
        """File offset of the `ff 25` jmp through `slot` in a PLT section."""
        for name in (".plt.sec", ".plt"):
            sec = self.elf.get_section_by_name(name)
            if sec is None:
                continue
            base, addr = sec["sh_offset"], sec["sh_addr"]
            for k in range(sec["sh_size"] - 6):
                if self.data[base + k:base + k + 2] != b"\xff\x25":
                    continue
                disp = self.get("i", base + k + 2)
                target = addr + k + 6 + disp if self.is64 else disp & 0xFFFFFFFF
                if target == slot:
                    return base + k
        raise AssertionError(f"no jmp through {slot:#x}")

    def sym_value_offset(self, table: str, name: str) -> int:
        sec = self.sec(table)
        index = next(i for i, s in enumerate(sec.iter_symbols()) if s.name == name)
        ent = 24 if self.is64 else 16
        return int(sec["sh_offset"]) + index * ent + (8 if self.is64 else 4)


Mutation = Callable[[Mutable], None]


def got0(m: Mutable) -> None:
    pltgot = m.get(m.word, m.dyn_val_offset(3))
    m.put(m.word, m.offset_of(pltgot), 0x1234)


def plt_push(m: Mutable) -> None:
    """Change the relocation a PLT entry hands the resolver (push $n or mov $n, %r11d/%ecx)."""
    step = 1 if m.is64 else 8
    plt = m.sec(".plt")
    lo, hi = plt["sh_offset"], plt["sh_offset"] + plt["sh_size"]
    for opcode in (b"\x68", b"\x41\xbb", b"\xb9"):  # push imm32; mov r11d; mov ecx
        pos = m.data.find(opcode + struct.pack("<I", step), lo, hi)
        if pos >= 0:
            m.put("I", pos + len(opcode), 3 * step)
            return
    raise AssertionError("no PLT index immediate found")


def plt_jmp_disp(m: Mutable) -> None:
    slot = m.plt_relocs()[1]["r_offset"]
    pos = m.plt_jump_to(slot)
    m.put("i", pos + 2, m.get("i", pos + 2) + m.wsize)


def pic_plt_jmp_disp(m: Mutable) -> None:
    """i386 PIE: move the last `jmp *disp(%ebx)` of the PLT one slot further."""
    sec = m.elf.get_section_by_name(".plt.sec") or m.sec(".plt")
    lo, hi = sec["sh_offset"], sec["sh_offset"] + sec["sh_size"]
    pos = m.data.rfind(b"\xff\xa3", lo, hi)
    assert pos >= 0
    m.put("i", pos + 2, m.get("i", pos + 2) + 4)


def lazy_slot(m: Mutable) -> None:
    relocs = m.plt_relocs()
    first, second = (m.offset_of(r["r_offset"]) for r in relocs[:2])
    m.put(m.word, second, m.get(m.word, first))


def load_offset(m: Mutable) -> None:
    index = m.load_indices()[1]
    pos = m.phdr_offset(index) + (8 if m.is64 else 4)
    m.put(m.word, pos, m.get(m.word, pos) + 0x10)


def strsz(m: Mutable) -> None:
    pos = m.dyn_val_offset(DT["DT_STRSZ"])
    m.put(m.word, pos, m.get(m.word, pos) + 1)


def sysv_bucket(m: Mutable) -> None:
    sec = m.sec(".hash")
    nbucket = m.get("I", sec["sh_offset"])
    for b in range(nbucket):
        pos = sec["sh_offset"] + 8 + 4 * b
        if m.get("I", pos):
            m.put("I", pos, 0)
            return
    raise AssertionError("all buckets empty")


def sysv_chain(m: Mutable) -> None:
    sec = m.sec(".hash")
    nbucket, nchain = m.get("I", sec["sh_offset"]), m.get("I", sec["sh_offset"] + 4)
    chains = sec["sh_offset"] + 8 + 4 * nbucket
    for i in range(nchain):
        if m.get("I", chains + 4 * i):
            m.put("I", chains + 4 * i, 0)  # cut a chain: its tail becomes unreachable
            return
    # every chain has one link: send a bucket to a symbol of another bucket instead
    m.put("I", sec["sh_offset"] + 8, nchain - 1 if m.get("I", sec["sh_offset"] + 8) != nchain - 1
          else 1)


def gnu_bloom(m: Mutable) -> None:
    sec = m.sec(".gnu.hash")
    base = sec["sh_offset"]
    for k in range(m.get("I", base + 8)):
        m.put(m.word, base + 16 + k * m.wsize, 0)


def gnu_chain(m: Mutable) -> None:
    sec = m.sec(".gnu.hash")
    base = sec["sh_offset"]
    nbuckets, bloom = m.get("I", base), m.get("I", base + 8)
    chain0 = base + 16 + bloom * m.wsize + 4 * nbuckets
    m.put("I", chain0, m.get("I", chain0) ^ 0x10)


def versym(m: Mutable) -> None:
    m.put("H", m.sec(".gnu.version")["sh_offset"] + 2, 0x77)


def vernaux_hash(m: Mutable) -> None:
    sec = m.sec(".gnu.version_r")
    aux = sec["sh_offset"] + m.get("I", sec["sh_offset"] + 8)
    m.put("I", aux, m.get("I", aux) ^ 1)


def vernaux_next(m: Mutable) -> None:
    sec = m.sec(".gnu.version_r")
    aux = sec["sh_offset"] + m.get("I", sec["sh_offset"] + 8)
    m.put("I", aux + 12, 0x4000)


def jump_slot_readonly(m: Mutable) -> None:
    name = ".rela.plt" if m.is64 else ".rel.plt"
    m.put(m.word, m.reloc_offset(name, 0), m.sec(".text")["sh_addr"])


def jump_slot_in_reladyn(m: Mutable) -> None:
    name = ".rela.dyn" if m.is64 else ".rel.dyn"
    pos = m.reloc_offset(name, 0) + m.wsize
    info = m.get(m.word, pos)
    m.put(m.word, pos, (info & ~(0xFFFFFFFF if m.is64 else 0xFF)) | 7)


def reloc_type(m: Mutable) -> None:
    """A static-only type (R_X86_64_PLT32 / R_386_PLT32, both 4) in .rela.plt/.rel.plt."""
    name = ".rela.plt" if m.is64 else ".rel.plt"
    pos = m.reloc_offset(name, 0) + m.wsize
    mask = 0xFFFFFFFF if m.is64 else 0xFF
    m.put(m.word, pos, (m.get(m.word, pos) & ~mask) | 4)


def reloc_symbol(m: Mutable) -> None:
    name = ".rela.plt" if m.is64 else ".rel.plt"
    pos = m.reloc_offset(name, 0) + m.wsize
    info = m.get(m.word, pos)
    m.put(m.word, pos, (999 << 32 | info & 0xFFFFFFFF) if m.is64 else (999 << 8 | info & 0xFF))


def entry_rodata(m: Mutable) -> None:
    m.put(m.word, 24, m.sec(".rodata")["sh_addr"])


def interp_nul(m: Mutable) -> None:
    sec = m.sec(".interp")
    m.data[sec["sh_offset"] + sec["sh_size"] - 1] = ord("x")


def dynamic_readonly(m: Mutable) -> None:
    addr = m.sec(".dynamic")["sh_addr"]
    for i, seg in enumerate(m.elf.iter_segments()):
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_memsz"]:
            m.put("I", m.phdr_offset(i) + (4 if m.is64 else 24), 4)  # PF_R only


def data_exec_flag(m: Mutable) -> None:
    pos = m.shdr_offset(".data") + 8
    m.put(m.word, pos, m.get(m.word, pos) | 0x4)


def pltrel(m: Mutable) -> None:
    pos = m.dyn_val_offset(DT["DT_PLTREL"])
    m.put(m.word, pos, 17 if m.is64 else 7)


def syment(m: Mutable) -> None:
    m.put(m.word, m.dyn_val_offset(DT["DT_SYMENT"]), 99)


def symtab_addr(m: Mutable) -> None:
    pos = m.dyn_val_offset(DT["DT_SYMTAB"])
    m.put(m.word, pos, m.get(m.word, pos) + 8)


def drop_strtab(m: Mutable) -> None:
    pos = m.dyn_val_offset(DT["DT_STRTAB"]) - m.wsize
    m.put("q" if m.is64 else "i", pos, DT["DT_DEBUG"])


def swap_loads(m: Mutable) -> None:
    a, b = (m.phdr_offset(i) for i in m.load_indices()[:2])
    size = int(m.elf["e_phentsize"])
    m.data[a:a + size], m.data[b:b + size] = m.data[b:b + size], m.data[a:a + size]


def filesz_memsz(m: Mutable) -> None:
    index = m.load_indices()[-1]
    pos = m.phdr_offset(index)
    memsz_at, filesz_at = (pos + 40, pos + 32) if m.is64 else (pos + 20, pos + 16)
    m.put(m.word, filesz_at, m.get(m.word, memsz_at) + 0x100)


def overlap(m: Mutable) -> None:
    first, second = (m.phdr_offset(i) for i in m.load_indices()[:2])
    vaddr = 16 if m.is64 else 8
    m.put(m.word, second + vaddr, m.get(m.word, first + vaddr) + 0x10)


def symbol_value(m: Mutable) -> None:
    m.put(m.word, m.sym_value_offset(".symtab", "main"), 0x10)


def machine(m: Mutable) -> None:
    m.put("H", 18, 3 if m.is64 else 62)


def text_addr(m: Mutable) -> None:
    m.put(m.word, m.shdr_offset(".text") + (16 if m.is64 else 12), 0x10)


def phdr_offset(m: Mutable) -> None:
    pos = m.phdr_offset(0) + (8 if m.is64 else 4)  # PT_PHDR comes first
    m.put(m.word, pos, m.get(m.word, pos) + m.wsize)


def _segment(m: Mutable, p_type: str) -> tuple[int, Any]:
    return next((i, s) for i, s in enumerate(m.elf.iter_segments()) if s["p_type"] == p_type)


def relro_over_slots(m: Mutable) -> None:
    """Stretch PT_GNU_RELRO to the end of the last page of .got.plt (or .got with -z now)."""
    index, relro = _segment(m, "PT_GNU_RELRO")
    got = m.elf.get_section_by_name(".got.plt") or m.sec(".got")
    end = (got["sh_addr"] + got["sh_size"] + 0xFFF) & ~0xFFF
    m.put(m.word, m.phdr_offset(index) + (40 if m.is64 else 20), end - relro["p_vaddr"])


def tls_moved(m: Mutable) -> None:
    index, _ = _segment(m, "PT_TLS")
    pos = m.phdr_offset(index) + (16 if m.is64 else 8)
    m.put(m.word, pos, m.get(m.word, pos) + 0x100000)


def init_array_entry(m: Mutable) -> None:
    m.put(m.word, m.sec(".init_array")["sh_offset"], m.sec(".rodata")["sh_addr"])


def text_overaligned(m: Mutable) -> None:
    """.text claims an alignment its address does not have."""
    m.put(m.word, m.shdr_offset(".text") + (48 if m.is64 else 32), 1 << 24)


def text_load_underaligned(m: Mutable) -> None:
    """The PT_LOAD holding .text claims p_align 4 (still congruent), below .text's 16."""
    text = m.sec(".text")
    index = next(i for i, s in enumerate(m.elf.iter_segments()) if s["p_type"] == "PT_LOAD"
                 and s["p_vaddr"] <= text["sh_addr"] < s["p_vaddr"] + s["p_memsz"])
    m.put(m.word, m.phdr_offset(index) + (48 if m.is64 else 28), 4)


def trailing_zeros(m: Mutable) -> None:
    """Two pages of zeros appended: nothing in the file describes them."""
    m.data += bytes(0x2000)


def zero_fill_in_filesz(m: Mutable) -> None:
    """Two pages of zeros appended and the last PT_LOAD's file image stretched over them (and
    over what lies between), as a writer that writes zero-fill out would leave it."""
    m.data += bytes(0x2000)
    index = max(m.load_indices(), key=lambda i: m.elf.get_segment(i)["p_vaddr"])
    seg = m.elf.get_segment(index)
    filesz = len(m.data) - int(seg["p_offset"])
    filesz_at, memsz_at = (32, 40) if m.is64 else (16, 20)
    m.put(m.word, m.phdr_offset(index) + filesz_at, filesz)
    m.put(m.word, m.phdr_offset(index) + memsz_at, max(filesz, int(seg["p_memsz"])))


def _dynsym_value_offset(m: Mutable, pick: Callable[[Any], bool]) -> int:
    sec = m.sec(".dynsym")
    index = next(i for i, s in enumerate(sec.iter_symbols()) if i and pick(s))
    return int(sec["sh_offset"]) + index * (24 if m.is64 else 16) + (8 if m.is64 else 4)


def canonical_address(m: Mutable) -> None:
    """Point an import's canonical PLT address at the next PLT entry."""
    pos = _dynsym_value_offset(m, lambda s: s["st_shndx"] == "SHN_UNDEF" and s["st_value"])
    m.put(m.word, pos, m.get(m.word, pos) + 0x10)


def copy_value(m: Mutable) -> None:
    """Move the executable's definition of a COPY-relocated object off the copy."""
    relocs = m.sec(".rela.dyn" if m.is64 else ".rel.dyn").iter_relocations()
    index = next(r["r_info_sym"] for r in relocs if r["r_info_type"] == 5)
    sec = m.sec(".dynsym")
    pos = int(sec["sh_offset"]) + index * (24 if m.is64 else 16) + (8 if m.is64 else 4)
    m.put(m.word, pos, m.get(m.word, pos) + m.wsize)


LAZY = ["x64-bfd-lazy", "x64-gold-lazy", "x64-lld-lazy", "x64-mold-lazy", "x64-bfd-ibt",
        "x64-lld-ibt", "x32-bfd-lazy", "x32-gold-lazy", "x32-lld-lazy", "x32-mold-lazy",
        "x32-bfd-ibt", "x64-bfd-pie", "x32-bfd-pie", "x64-mold-pie", "x32-lld-pie",
        "x32-mold-pie"]
BOTH_HASH = ["x64-bfd-lazy", "x64-lld-lazy", "x64-mold-lazy", "x32-bfd-lazy", "x32-lld-lazy"]
SOME = ["x64-bfd-lazy", "x64-lld-now", "x32-bfd-lazy", "x32-mold-now"]

CASES: list[tuple[str, Mutation, list[str]]] = [
    ("ELF-GOT0", got0, LAZY + ["x64-bfd-now", "x64-mold-now"]),
    ("ELF-PLT-LAZY", plt_push, LAZY),
    ("ELF-PLT-SLOT", plt_jmp_disp,  # (i386 PIE PLTs jump through %ebx: not `ff 25`)
     [k for k in LAZY if not k.startswith("x32") or "pie" not in k]
     + ["x64-lld-now", "x32-mold-now"]),
    ("ELF-PLT-SLOT", pic_plt_jmp_disp, ["x32-bfd-pie", "x32-lld-pie", "x32-mold-pie"]),
    ("ELF-PLT-LAZY", lazy_slot, [k for k in LAZY if "mold" not in k]),
    ("ELF-SEG-ALIGN", load_offset, SOME),
    ("ELF-DYN-STRSZ", strsz, SOME),
    ("ELF-HASH-SYSV", sysv_bucket, BOTH_HASH),
    ("ELF-HASH-SYSV", sysv_chain, BOTH_HASH),
    ("ELF-HASH-GNU", gnu_bloom, BOTH_HASH),
    ("ELF-HASH-GNU", gnu_chain, BOTH_HASH),
    ("ELF-VER-INDEX", versym, SOME),
    ("ELF-VER-NEED", vernaux_hash, SOME),
    ("ELF-VER-NEED", vernaux_next, SOME),
    ("ELF-REL-TARGET", jump_slot_readonly, SOME),
    ("ELF-REL-JUMPSLOT", jump_slot_in_reladyn, ["x64-bfd-lazy", "x64-lld-now", "x32-bfd-lazy"]),
    ("ELF-REL-SYM", reloc_symbol, SOME),
    ("ELF-REL-TYPE", reloc_type, SOME),
    ("ELF-ENTRY", entry_rodata, SOME),
    ("ELF-SEG-INTERP", interp_nul, SOME),
    ("ELF-SEG-DYNAMIC", dynamic_readonly, SOME),
    ("ELF-SEC-PERM", data_exec_flag, SOME),
    ("ELF-DYN-PLTREL", pltrel, SOME),
    ("ELF-DYN-ENT", syment, SOME),
    ("ELF-DYN-ADDR", symtab_addr, SOME),
    ("ELF-DYN-REQUIRED", drop_strtab, SOME),
    ("ELF-SEG-ORDER", swap_loads, SOME),
    ("ELF-SEG-SIZE", filesz_memsz, SOME),
    ("ELF-SEG-OVERLAP", overlap, SOME),
    ("ELF-SYM-RANGE", symbol_value, SOME),
    ("ELF-HDR-MACHINE", machine, SOME),
    ("ELF-SEC-LOAD", text_addr, SOME),
    ("ELF-SEG-PHDR", phdr_offset, SOME),
    ("ELF-GOT-RELRO", relro_over_slots, ["x64-bfd-lazy", "x64-lld-lazy", "x64-mold-lazy",
                                         "x32-bfd-lazy", "x32-gold-lazy", "x32-lld-lazy"]),
    ("ELF-DYN-INIT", init_array_entry, SOME),
    ("ELF-SEC-ALIGN", text_overaligned, SOME),
    # only where the loader chooses the address: an ET_EXEC keeps its aligned sh_addr
    ("ELF-SEG-SECALIGN", text_load_underaligned,
     ["x64-bfd-pie", "x64-lld-pie", "x64-mold-pie", "x32-bfd-pie", "x32-lld-pie"]),
    ("ELF-ZERO-FILL", trailing_zeros, SOME + ["x64-static", "x32-gold-lazy"]),
    ("ELF-ZERO-FILL", zero_fill_in_filesz, SOME + ["x64-static", "x32-gold-lazy",
                                                   "x64-mold-pie"]),
]

CANONICAL = [("x64-bfd-lazy", "imports"), ("x64-gold-now", "imports"),
             ("x64-lld-ibt", "imports"), ("x64-mold-lazy", "imports"),
             ("x32-lld-lazy", "imports"), ("x32-bfd-ibt", "imports"),
             ("x32-mold-now", "tls_copy"), ("x32-gold-lazy", "imports")]
COPY = ["x64-bfd-lazy", "x64-gold-now", "x64-lld-ibt", "x64-mold-lazy", "x32-bfd-now",
        "x32-lld-lazy", "x32-mold-lazy"]


@pytest.mark.parametrize(("variant", "program"), CANONICAL)
def test_canonical_plt_address_moved(built: Any, variant: str, program: str) -> None:
    m = Mutable(built.bytes(f"{variant}/{program}"))
    canonical_address(m)
    assert "ELF-PLT-CANONICAL" in {v.rule for v in check(bytes(m.data))}


@pytest.mark.parametrize("variant", COPY)
def test_copy_relocation_off_its_symbol(built: Any, variant: str) -> None:
    m = Mutable(built.bytes(f"{variant}/tls_copy"))
    copy_value(m)
    assert "ELF-REL-COPY" in {v.rule for v in check(bytes(m.data))}


TLS_CASES = ["x64-bfd-lazy", "x64-lld-now", "x64-mold-lazy", "x32-gold-lazy", "x32-mold-now"]

PARAMS = [pytest.param(rule, fn, variant, id=f"{rule}-{fn.__name__}-{variant}")
          for rule, fn, variants in CASES for variant in variants]


@pytest.mark.parametrize(("rule", "mutate", "variant"), PARAMS)
def test_mutation_fires_its_rule(built: Any, rule: str, mutate: Mutation, variant: str) -> None:
    m = Mutable(built.bytes(f"{variant}/imports"))
    mutate(m)
    found = check(bytes(m.data))
    rules = {v.rule for v in found}
    assert rule in rules, [str(v) for v in found]
    assert "CHECK-INTERNAL" not in rules, [str(v) for v in found]


@pytest.mark.parametrize("variant", TLS_CASES)
def test_tls_segment_moved_away_from_its_sections(built: Any, variant: str) -> None:
    m = Mutable(built.bytes(f"{variant}/tls_copy"))
    tls_moved(m)
    assert "ELF-SEG-TLS" in {v.rule for v in check(bytes(m.data))}


@pytest.mark.parametrize("variant", ["x64-bfd-now", "x64-mold-now", "x32-lld-now"])
def test_relro_over_slots_is_fine_with_bind_now(built: Any, variant: str) -> None:
    m = Mutable(built.bytes(f"{variant}/imports"))
    relro_over_slots(m)
    assert [str(v) for v in check(bytes(m.data))] == []


@pytest.mark.parametrize("variant", ["x64-bfd-now", "x32-bfd-now", "x64-lld-now"])
def test_lazy_contents_do_not_matter_with_bind_now(built: Any, variant: str) -> None:
    # With BIND_NOW ld.so fills every slot before running code: their initial contents are
    # dead, so a "wrong" lazy target is not a violation.
    m = Mutable(built.bytes(f"{variant}/imports"))
    lazy_slot(m)
    # (the patched bytes no longer match the build id GNU ld hashed: ELF-BUILD-ID-HASH)
    assert [str(v) for v in check(bytes(m.data)) if v.rule != "ELF-BUILD-ID-HASH"] == []


def plt0_push(m: Mutable) -> None:
    """PLT0 pushes GOT+2w instead of GOT[1]: every lazy path hands ld.so the wrong word."""
    pltgot = m.get(m.word, m.dyn_val_offset(3))
    plt = m.sec(".plt")
    base = plt["sh_offset"]
    for k in range(32):  # PLT0's `ff 35` (mold starts with endbr64; push %r11)
        if m.data[base + k:base + k + 2] == b"\xff\x35":
            if m.is64:
                m.put("i", base + k + 2, m.get("i", base + k + 2) + 8)
            else:
                m.put("I", base + k + 2, pltgot + 8)
            return
    raise AssertionError("no push in PLT0")


@pytest.mark.parametrize("variant", ["x64-bfd-lazy", "x64-gold-lazy", "x64-lld-ibt",
                                     "x64-mold-lazy", "x32-bfd-lazy", "x32-lld-lazy"])
def test_plt0_push_fires_lazy_rule_for_every_slot(built: Any, variant: str) -> None:
    m = Mutable(built.bytes(f"{variant}/imports"))
    plt0_push(m)
    lazy = [v for v in check(bytes(m.data)) if v.rule == "ELF-PLT-LAZY"]
    assert len(lazy) == len(m.plt_relocs()), [str(v) for v in lazy]
