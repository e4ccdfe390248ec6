"""oracle.relocs.placement.matches_at: an input section is found at an address when every
byte no relocation may change is equal there (relocated bytes may differ)."""

from __future__ import annotations

from oracle.relocs.image import OutputImage, OutSection
from oracle.relocs.inputs import InputObject, InputReloc, InputSection
from oracle.relocs.placement import matches_at, relocated_mask

R_X86_64_PC32 = 2  # 4-byte field
DATA = bytes(range(1, 17))
ADDR = 0x401000


def _object(relocs: tuple[InputReloc, ...]) -> tuple[InputObject, InputSection]:
    sec = InputSection(1, ".text", "SHT_PROGBITS", 0x6, len(DATA), 4, 0, DATA, bool(relocs))
    obj = InputObject("m.o", "x86_64", {1: sec}, (), relocs, (), None, 0,
                      {1: relocs} if relocs else {})
    return obj, sec


def _image(contents: bytes) -> OutputImage:
    return OutputImage("a.out", "x86_64", 8,
                       [OutSection(".text", ADDR, len(contents), 0x6, False, contents)])


def test_equal_bytes_match() -> None:
    obj, sec = _object(())
    assert matches_at(_image(DATA), sec, relocated_mask(obj, sec), ADDR)


def test_a_changed_field_matches_only_under_a_relocation() -> None:
    changed = DATA[:4] + b"\xaa\xbb\xcc\xdd" + DATA[8:]  # bytes 4..7 differ
    plain, plain_sec = _object(())
    assert not matches_at(_image(changed), plain_sec, relocated_mask(plain, plain_sec), ADDR)
    obj, sec = _object((InputReloc(1, 4, R_X86_64_PC32, 0, 0),))
    assert matches_at(_image(changed), sec, relocated_mask(obj, sec), ADDR)


def test_a_change_beside_the_field_is_no_match() -> None:
    obj, sec = _object((InputReloc(1, 4, R_X86_64_PC32, 0, 0),))
    for at in (3, 8, 0, 15):  # just before, just after, the ends
        changed = bytearray(DATA)
        changed[at] ^= 0xFF
        assert not matches_at(_image(bytes(changed)), sec, relocated_mask(obj, sec), ADDR), at


def test_misaligned_or_outside_is_no_match() -> None:
    obj, sec = _object(())
    mask = relocated_mask(obj, sec)
    image = _image(DATA + bytes(8))
    assert not matches_at(image, sec, mask, ADDR + 2)  # .text is 4-aligned here
    assert not matches_at(image, sec, mask, ADDR + 16)  # runs past the section
