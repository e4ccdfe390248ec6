"""The entry point of an executable: exactly one of LC_MAIN and LC_UNIXTHREAD, pointing into
code: __text, or a section its attributes say holds instructions (`-rename_section __TEXT
__text __TEXT __code` moves the entry out of __text, validly).  A dylib or bundle has none
(dyld runs its initializers instead), so the rule applies to MH_EXECUTE only."""

from __future__ import annotations

from collections.abc import Iterator

from oracle.check.macho.registry import DYLD_ENTRY, Finding, MachOFile, rule
from oracle.emulate.macho import image as mi

TOPIC = "entry"
S_ATTR_PURE_INSTRUCTIONS, S_ATTR_SOME_INSTRUCTIONS = 0x80000000, 0x400


@rule("MACHO-ENTRY", TOPIC,
      "one entry command, whose address (LC_MAIN's entryoff, or the pc of the thread state "
      "of the file's width: rip of x86_THREAD_STATE64, eip of x86_THREAD_STATE32) lies in "
      "__text, or a section marked as instructions, of an executable segment (MH_EXECUTE "
      "only)",
      DYLD_ENTRY)
def entry(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    if img.filetype != mi.MH_EXECUTE:
        return
    mains = [lc for lc in img.commands if lc.cmd == mi.LC_MAIN]
    threads = [lc for lc in img.commands if lc.cmd == mi.LC_UNIXTHREAD]
    if len(mains) + len(threads) != 1:
        yield "entry", (f"{len(mains)} LC_MAIN and {len(threads)} LC_UNIXTHREAD commands "
                        "(exactly one is needed)")
        return
    if img.main_entryoff is not None:
        addr, what = img.header_address() + img.main_entryoff, "LC_MAIN entryoff"
    elif img.thread_rip is not None:
        addr, what = img.thread_rip, "LC_UNIXTHREAD " + ("rip" if img.is64 else "eip")
    else:
        state = "x86_THREAD_STATE64" if img.is64 else "x86_THREAD_STATE32"
        yield "LC_UNIXTHREAD", f"no {state} state"
        return
    seg = img.segment_at(addr)
    if seg is None or not seg.initprot & mi.VM_PROT_EXECUTE:
        yield what, f"{addr:#x} is not in an executable segment"
        return
    code = [s for s in seg.sections if s.sectname == "__text"
            or s.flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)]
    if not any(s.addr <= addr < s.addr + s.size for s in code):
        yield what, f"{addr:#x} is not inside __TEXT,__text or another section of code"
