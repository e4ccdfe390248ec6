"""Where ELF input sections go: output section names, their order, and their segment.

This is the part of GNU ld's default linker script that matters for an executable, as a
table.  Output sections are grouped in three PT_LOADs: read-only (with the headers and the
dynamic-linking tables), executable, and writable (with .bss last).
"""

from __future__ import annotations

import re

from ..model import InputSection, SectionFlags, SectionRole

# (prefix, output name): the first match wins; a prefix "x." matches "x" and "x.anything".
_NAME_RULES: tuple[tuple[str, str], ...] = (
    (".text.", ".text"),
    (".rodata.", ".rodata"),
    (".data.rel.ro.", ".data.rel.ro"),
    (".data.", ".data"),
    (".bss.", ".bss"),
    (".tbss.", ".tbss"),
    (".tcommon.", ".tbss"),  # GNU ld's script: *(.tcommon) in .tbss
    (".tdata.", ".tdata"),
    (".init_array.", ".init_array"),
    (".fini_array.", ".fini_array"),
    (".preinit_array.", ".preinit_array"),
    (".ctors.", ".ctors"),
    (".dtors.", ".dtors"),
    (".gcc_except_table.", ".gcc_except_table"),
    (".dynbss.", ".bss"),
    (".sdata.", ".data"),
    (".lrodata.", ".rodata"),
    (".ldata.", ".data"),
    (".lbss.", ".bss"),
)

# Output sections in file order, per segment.  Names not listed go at the end of the
# segment their flags choose, in order of appearance.
READ_ONLY_ORDER = (
    ".interp", ".note.gnu.property", ".note.gnu.build-id", ".note.ABI-tag", ".hash",
    ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_r", ".rela.dyn",
    ".rel.dyn", ".rela.plt", ".rel.plt", ".rela.iplt", ".rodata", ".eh_frame_hdr", ".eh_frame",
    ".gcc_except_table",
)
EXEC_ORDER = (".init", ".plt", ".plt.sec", ".iplt", ".text", ".fini")
WRITE_ORDER = (
    ".tdata", ".tbss", ".preinit_array", ".init_array", ".fini_array", ".ctors", ".dtors", ".data.rel.ro",
    ".dynamic", ".got", ".got.plt", ".got.iplt", ".data", ".bss",
)

_PRIORITY = re.compile(r"\.(\d+)$")


def output_name(sec: InputSection) -> str:
    name = sec.name
    if sec.file.path == "<linker>" and sec.name == ".dynbss":
        return ".bss"
    if sec.role is SectionRole.INIT_ARRAY and name.startswith(".ctors"):
        return ".init_array"  # folded by ctors.py, reversed
    if sec.role is SectionRole.FINI_ARRAY and name.startswith(".dtors"):
        return ".fini_array"
    for prefix, out in _NAME_RULES:
        if name.startswith(prefix) or name == prefix[:-1]:
            return out
    if sec.role is SectionRole.ZEROFILL and name.startswith(".bss"):
        return ".bss"
    return name


_PLACED = frozenset({out for _, out in _NAME_RULES} | set(READ_ONLY_ORDER) | set(EXEC_ORDER)
                    | set(WRITE_ORDER))


def is_orphan(name: str) -> bool:
    """An output section GNU ld's default script does not name (`-unique` splits them)."""
    return name not in _PLACED


def init_priority(sec: InputSection) -> int:
    """Sort key for .init_array/.fini_array inputs: numbered ones by priority, plain last.

    GNU ld's SORT_BY_INIT_PRIORITY: `.init_array.00100` runs before `.init_array`;
    `.ctors.NNNNN` (a priority counted down) sorts as 65535 - NNNNN.
    """
    m = _PRIORITY.search(sec.name)
    if m is None:
        return 1 << 20
    if sec.name.startswith((".ctors.", ".dtors.")):
        return 65535 - int(m.group(1))  # GNU ld: .ctors.N runs where .init_array.(65535-N) does
    return int(m.group(1))


def segment_of(flags: SectionFlags) -> int:
    """0 = read-only, 1 = executable, 2 = writable."""
    if SectionFlags.WRITE in flags:
        return 2
    if SectionFlags.EXEC in flags:
        return 1
    return 0


def order_key(name: str, seg: int, first_seen: int) -> tuple[int, int]:
    order = (READ_ONLY_ORDER, EXEC_ORDER, WRITE_ORDER)[seg]
    if name in order:
        return (order.index(name), 0)
    return (len(order), first_seen)


def is_identifier(name: str) -> bool:
    """GNU ld defines __start_NAME/__stop_NAME for sections named like C identifiers."""
    return name.isidentifier() and name.isascii()


# Non-allocated sections that are not copied to the output: GNU ld reads .gnu.warning.SYM
# as a message for whoever references SYM, and .stab needs stabs' own per-object string
# table rewriting (gcc has not emitted stabs by default for decades); LTO bytecode is
# for a plugin we do not run.
_NON_ALLOC_DROPPED = (".gnu.warning", ".stab", ".gnu.lto_", ".gnu.debuglto_", ".llvm")


def keeps_non_alloc(name: str) -> bool:
    """Is a non-allocated PROGBITS input section copied to the output (DWARF, .comment,
    .gnu_debuglink, ...)?"""
    return not name.startswith(_NON_ALLOC_DROPPED)


def is_debug(name: str) -> bool:
    """What -S/--strip-debug drops and --compress-debug-sections compresses (GNU ld's
    debugging sections: DWARF's .debug_* and the compressed .zdebug_*)."""
    return name.startswith((".debug", ".zdebug", ".gnu.linkonce.wi."))


def is_range_list(name: str) -> bool:
    """DWARF ≤ 4 range and location lists end at a (0, 0) pair: a discarded function's
    entry there gets the tombstone 1, not 0, so it does not end the list early (lld and
    GNU ld agree)."""
    return name in (".debug_ranges", ".debug_loc")
