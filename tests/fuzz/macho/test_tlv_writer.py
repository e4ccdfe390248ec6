"""fuzz/macho/tlv_writer.py's objects against llvm-mc-14's from fuzz/macho/tlv.py's text,
for the samples and a few drawn cases: the same instructions in __text (llvm-objdump-14's
disassembly, padding and branch targets aside, since encodings of one instruction may
differ in length), the same relocation types against the same symbols there, the same
__thread_data bytes, __thread_bss size and descriptors, and the same external symbols.
The judged behaviour of both is fuzz/test_macho_tlv.py's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from fuzz.macho import tlv
from fuzz.power import collect
from oracle.macho_relocs_inputs import read_object

CASES = [tlv.sample("x86_64"), tlv.aligned_bss_find("x86_64"),
         *collect(tlv.tlv_cases("x86_64"), 3)]
_TARGET = re.compile(r"0x[0-9a-f]+ <[^>]*>")


def _instructions(path: Path) -> list[str]:
    text = subprocess.run(["llvm-objdump-14", "-d", "--no-show-raw-insn", "--no-leading-addr",
                           str(path)], check=True, capture_output=True, text=True).stdout
    out = []
    for line in text.splitlines():
        if not line[:1].isspace():  # an instruction line is indented; labels are not
            continue
        insn = _TARGET.sub("<target>", line.split("##")[0]).strip()
        if not insn.startswith("nop"):
            out.append(insn)
    return out


def _summary(path: Path) -> dict[str, object]:
    obj = read_object(str(path))
    sections = {f"{s.segname},{s.sectname}": s for s in obj.sections}
    text_relocs = sorted((r.type_name, obj.symbols[r.target.index].name)
                         for r in obj.relocs if obj.sections[r.section].sectname == "__text")
    data = sections.get("__DATA,__thread_data")
    bss = sections.get("__DATA,__thread_bss")
    descriptors = sections.get("__DATA,__thread_vars")
    return {
        "text relocations": text_relocs,
        "thread data": obj.data[obj.sections.index(data)] if data is not None else b"",
        "thread bss": bss.size if bss is not None else 0,
        "descriptors": descriptors.size if descriptors is not None else 0,
        "externals": sorted(s.name for s in obj.symbols if s.type & 0x01),
    }


@pytest.mark.parametrize("number", range(len(CASES)))
def test_our_objects_say_what_llvm_mc_says(number: int, tmp_path: Path) -> None:
    case = CASES[number]
    ours = tlv.write_objects(case, tmp_path / "ours", own_writer=True)
    theirs = tlv.write_objects(case, tmp_path / "llvm-mc")
    for mine, reference in zip(ours, theirs):
        assert _instructions(mine) == _instructions(reference)
        assert _instructions(mine) or mine == ours[1]  # object 0 always holds `_start`
        assert _summary(mine) == _summary(reference)
