"""Deliberately broken linker outputs: each mutant patches one thing a linker computes (a
relocated field, a PLT entry, a GOT slot, a dynamic relocation) in a correct executable.
The harness-power test requires the properties' checks to catch every one."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

import capstone
from elftools.elf.elffile import ELFFile

Mutant = Callable[[bytearray], None]


class Image:
    """Just enough of an executable to find what to patch: sections, symbols, code."""

    def __init__(self, data: bytearray) -> None:
        self.data = data
        self.elf = ELFFile(io.BytesIO(bytes(data)))

    def section(self, name: str) -> Any:
        found = self.elf.get_section_by_name(name)
        assert found is not None, f"no {name} in the output"
        return found

    def symbol(self, name: str) -> Any:
        symtab = self.section(".symtab")
        (sym,) = symtab.get_symbol_by_name(name)
        return sym

    def offset(self, address: int) -> int:
        for sec in self.elf.iter_sections():
            start = sec["sh_addr"]
            if sec["sh_type"] != "SHT_NOBITS" and start <= address < start + sec["sh_size"]:
                return int(address - start + sec["sh_offset"])
        raise ValueError(f"{address:#x} is not in the file")

    def code(self, function: str) -> list[Any]:
        sym = self.symbol(function)
        at = self.offset(sym["st_value"])
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        return list(md.disasm(bytes(self.data[at:at + sym["st_size"]]), sym["st_value"]))

    def add32(self, address: int, delta: int) -> None:
        at = self.offset(address)
        (v,) = struct.unpack_from("<i", self.data, at)
        struct.pack_into("<i", self.data, at, v + delta)

    def add64(self, file_offset: int, delta: int) -> None:
        (v,) = struct.unpack_from("<Q", self.data, file_offset)
        struct.pack_into("<Q", self.data, file_offset, (v + delta) % 2**64)


def _first(image: Image, function: str, prefix: bytes) -> Any:
    return next(i for i in image.code(function) if bytes(i.bytes).startswith(prefix))


def pc32_call_off_by_one(data: bytearray) -> None:
    image = Image(data)
    call = _first(image, "lh_main", b"\xe8")
    image.add32(call.address + 1, 1)


def call_bound_to_another_definition(data: bytearray) -> None:
    """The call to lh_f2 lands on the static lh_s1 instead (what preferring the wrong one of
    two definitions looks like in the output)."""
    image = Image(data)
    target = image.symbol("lh_f2")["st_value"]
    call = next(i for i in image.code("lh_main") if bytes(i.bytes)[:2] == b"\xff\x15"
                or i.mnemonic == "call" and i.op_str == hex(target))
    other = next(s for s in image.section(".symtab").iter_symbols() if s.name == "lh_s1")
    if call.op_str == hex(target):  # direct, or relaxed from the GOT form (addr32 call)
        image.add32(call.address + call.size - 4, other["st_value"] - target)
    else:  # the GOT slot of lh_f2 (not relaxed): point the slot itself elsewhere
        slot = call.address + call.size + int.from_bytes(bytes(call.bytes)[2:6], "little",
                                                         signed=True)
        image.add64(image.offset(slot), other["st_value"] - target)


def abs32s_load_off_by_four(data: bytearray) -> None:
    image = Image(data)
    load = next(i for i in image.code("lh_main") if bytes(i.bytes)[-6:-4] == b"\x04\x25")
    image.add32(load.address + load.size - 4, 4)


def pc32_load_off_by_four(data: bytearray) -> None:
    image = Image(data)
    load = _first(image, "lh_main", b"\x8b\x05")
    image.add32(load.address + 2, 4)


def table_pointer_off_by_one(data: bytearray) -> None:
    image = Image(data)
    image.add64(image.offset(image.symbol("lh_v0")["st_value"]), 1)


def plt_entry_pushes_wrong_index(data: bytearray) -> None:
    image = Image(data)
    plt = image.section(".plt")
    first = plt["sh_offset"] + 16  # PLT1: ff 25 slot / 68 index / e9 PLT0
    assert data[first + 6] == 0x68, "unexpected PLT layout"
    struct.pack_into("<I", data, first + 7, struct.unpack_from("<I", data, first + 7)[0] + 1)


def plt0_pushes_wrong_got_word(data: bytearray) -> None:
    image = Image(data)
    plt0 = image.section(".plt")["sh_offset"]
    assert data[plt0:plt0 + 2] == b"\xff\x35", "unexpected PLT0 layout"
    image.add32(image.section(".plt")["sh_addr"] + 2, 8)


def got0_not_dynamic(data: bytearray) -> None:
    image = Image(data)
    struct.pack_into("<Q", data, image.section(".got.plt")["sh_offset"], 0)


def lazy_slot_points_to_the_next_stub(data: bytearray) -> None:
    image = Image(data)
    image.add64(image.section(".got.plt")["sh_offset"] + 24, 16)


def _dynamic_reloc(image: Image, type_: int) -> int:
    rela = image.section(".rela.dyn")
    for k in range(rela["sh_size"] // 24):
        at = rela["sh_offset"] + 24 * k
        if struct.unpack_from("<Q", image.data, at + 8)[0] & 0xFFFFFFFF == type_:
            return int(at)
    raise ValueError(f"no dynamic relocation of type {type_}")


def copy_relocation_dropped(data: bytearray) -> None:
    at = _dynamic_reloc(Image(data), 5)  # R_X86_64_COPY -> R_X86_64_NONE
    struct.pack_into("<Q", data, at + 8, struct.unpack_from("<Q", data, at + 8)[0] & ~0xFFFFFFFF)


def glob_dat_names_the_wrong_slot(data: bytearray) -> None:
    at = _dynamic_reloc(Image(data), 6)  # R_X86_64_GLOB_DAT: r_offset one slot on
    Image(data).add64(at, 8)


MUTANTS: dict[str, Mutant] = {m.__name__: m for m in (
    pc32_call_off_by_one, call_bound_to_another_definition, abs32s_load_off_by_four, pc32_load_off_by_four,
    table_pointer_off_by_one, plt_entry_pushes_wrong_index, plt0_pushes_wrong_got_word,
    got0_not_dynamic, lazy_slot_points_to_the_next_stub, copy_relocation_dropped,
    glob_dat_names_the_wrong_slot)}
