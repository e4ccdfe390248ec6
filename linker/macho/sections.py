"""Where Mach-O input sections go: two segments, __TEXT (code and read-only data) and
__DATA (writable data, zero-fill last), and the section type each output carries."""

from __future__ import annotations

from ..layout import OutputSection
from ..model import InputSection, SectionFlags, SectionRole

TEXT_ORDER = ("__text", "__stubs", "__symbol_stub1", "__stub_helper", "__const", "__cstring",
              "__literal4", "__literal8", "__literal16")
DATA_ORDER = ("__got", "__nl_symbol_ptr", "__pointers", "__la_symbol_ptr", "__mod_init_func",
              "__mod_term_func", "__const", "__data", "__thread_vars", "__thread_data")
# __thread_bss first, right after __thread_data: the thread-local template is one range
ZEROFILL_ORDER = ("__thread_bss", "__bss", "__common")

S_REGULAR, S_ZEROFILL, S_CSTRING_LITERALS = 0x0, 0x1, 0x2
S_NON_LAZY_SYMBOL_POINTERS, S_LAZY_SYMBOL_POINTERS, S_SYMBOL_STUBS = 0x6, 0x7, 0x8
S_MOD_INIT_FUNC_POINTERS, S_MOD_TERM_FUNC_POINTERS = 0x9, 0xA
S_ATTR_CODE = 0x80000400  # PURE_INSTRUCTIONS | SOME_INSTRUCTIONS
S_THREAD_LOCAL_REGULAR, S_THREAD_LOCAL_ZEROFILL, S_THREAD_LOCAL_VARIABLES = 0x11, 0x12, 0x13
TLV_TEMPLATE = ("__thread_data", "__thread_bss")  # each thread's copy: initial image, zeros

_TYPE_BY_NAME = {"__cstring": S_CSTRING_LITERALS, "__got": S_NON_LAZY_SYMBOL_POINTERS,
                 "__nl_symbol_ptr": S_NON_LAZY_SYMBOL_POINTERS,
                 "__la_symbol_ptr": S_LAZY_SYMBOL_POINTERS,
                 "__stubs": S_SYMBOL_STUBS | S_ATTR_CODE,
                 "__symbol_stub1": S_SYMBOL_STUBS | S_ATTR_CODE}


_TLV_TYPES = {"__thread_vars": S_THREAD_LOCAL_VARIABLES, "__thread_data": S_THREAD_LOCAL_REGULAR,
              "__thread_bss": S_THREAD_LOCAL_ZEROFILL}


def output_name(sec: InputSection) -> str:
    """`SEG,sect` of the output section; the segment follows the section's permissions."""
    sectname = sec.name.partition(",")[2] or sec.name
    segment = "__DATA" if SectionFlags.WRITE in sec.flags else "__TEXT"
    return f"{segment},{sectname}"


def order_key(out: OutputSection, first_seen: int) -> tuple[int, int, int]:
    segment, _, sectname = out.name.partition(",")
    order: tuple[str, ...]
    if segment == "__TEXT":
        order = TEXT_ORDER
    elif out.nobits:
        order = ZEROFILL_ORDER
    else:
        order = DATA_ORDER
    rank = order.index(sectname) if sectname in order else len(order)
    return (int(out.nobits), rank, first_seen)


def section_type(out: OutputSection, role: SectionRole | None) -> int:
    sectname = out.name.partition(",")[2]
    if sectname in _TLV_TYPES:
        return _TLV_TYPES[sectname]
    if out.nobits:
        return S_ZEROFILL
    if role is SectionRole.NON_LAZY_POINTERS:
        return S_NON_LAZY_SYMBOL_POINTERS
    if sectname in _TYPE_BY_NAME:
        return _TYPE_BY_NAME[sectname]
    if role is SectionRole.INIT_ARRAY:
        return S_MOD_INIT_FUNC_POINTERS
    if role is SectionRole.FINI_ARRAY:
        return S_MOD_TERM_FUNC_POINTERS
    return S_ATTR_CODE if SectionFlags.EXEC in out.flags else S_REGULAR
