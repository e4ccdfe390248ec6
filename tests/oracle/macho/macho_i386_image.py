"""A hand-built i386 MH_EXECUTE, byte by byte, for testing the emulated dyld and the checker
without any linker: a `main` that calls puts (twice) and printf through stubs, and a data
pointer to its message (a rebase).

    build_i386(classic=False, ...) -> bytes

modern (classic=False): LC_MAIN, LC_DYLD_INFO_ONLY (rebase, bind of dyld_stub_binder, lazy
binds), `__stubs` of `jmp *abs32` through `__la_symbol_ptr`, whose initial values are the
`__stub_helper` entries `push $lazy_offset; jmp helper`, and the common helper `pushl
$dyld_private; jmp *binder_slot; nop`, as ld64 lays them out for i386.

classic: LC_UNIXTHREAD (x86_THREAD_STATE32, eip = `start`), no dyld info; `__symbol_stub1`
of `jmp *abs32` through `__nl_symbol_ptr` slots, which dyld binds through the indirect
symbol table; `start` aligns the stack, calls main and exit().

Layout: __PAGEZERO [0, 0x1000), __TEXT at 0x1000 (file 0), __DATA at 0x2000 (file 0x1000),
__LINKEDIT at 0x3000 (file 0x2000).  Options produce the faults the tests look for: a
misaligned stack at the calls (`frame`), helper entries that push each other's offsets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fuzz.leb128 import uleb128 as _uleb

MH_MAGIC, CPU_TYPE_I386, CPU_SUBTYPE_I386_ALL, MH_EXECUTE = 0xFEEDFACE, 7, 3, 2
MH_NOUNDEFS, MH_DYLDLINK, MH_TWOLEVEL = 0x1, 0x4, 0x80
LC_SEGMENT, LC_SYMTAB, LC_UNIXTHREAD, LC_DYSYMTAB = 0x1, 0x2, 0x5, 0xB
LC_LOAD_DYLIB, LC_LOAD_DYLINKER = 0xC, 0xE
LC_DYLD_INFO_ONLY, LC_MAIN = 0x80000022, 0x80000028
S_REGULAR, S_CSTRING_LITERALS = 0x0, 0x2
S_NON_LAZY_SYMBOL_POINTERS, S_LAZY_SYMBOL_POINTERS, S_SYMBOL_STUBS = 0x6, 0x7, 0x8
S_ATTR_PURE_INSTRUCTIONS, S_ATTR_SOME_INSTRUCTIONS = 0x80000000, 0x400
N_UNDF, N_EXT, N_SECT = 0x0, 0x1, 0xE
X86_THREAD_STATE32, THREAD_STATE32_COUNT, EIP_INDEX = 1, 16, 10

TEXT, DATA, LINKEDIT = 0x1000, 0x2000, 0x3000
CODE, STUBS, HELPER, CSTRING = 0x1400, 0x1480, 0x14A0, 0x1500
NL_PTR, LA_PTR, DATA_SECT = 0x2000, 0x2010, 0x2030
DYLD_PRIVATE, MSG_POINTER = DATA_SECT, DATA_SECT + 4
LIBSYSTEM = b"/usr/lib/libSystem.B.dylib"
MESSAGE, FORMAT = b"hello from i386\0", b"answer=%d\n\0"
STUB_SIZE, HELPER_HEAD, HELPER_ENTRY = 6, 12, 10


@dataclass(frozen=True)
class Options:
    classic: bool = False
    frame: int = 24  # bytes main reserves below ebp: 24 keeps esp 16-aligned at its calls
    swap_helper_offsets: bool = False  # the two helper entries push each other's offsets


def _rel(source_end: int, target: int) -> bytes:
    return struct.pack("<i", target - source_end)


def _main(at: int, stub: dict[str, int], frame: int) -> bytes:
    """push ebp; mov ebp,esp; sub esp,frame; puts(*msg_pointer); printf(fmt, 42);
    puts(*msg_pointer); mov eax,7; leave-like epilogue; ret."""
    code = bytearray(b"\x55\x89\xe5\x83\xec" + bytes([frame]))

    def call(name: str) -> None:
        code.extend(b"\xe8" + _rel(at + len(code) + 5, stub[name]))

    def puts_message() -> None:
        code.extend(b"\xa1" + struct.pack("<I", MSG_POINTER) + b"\x89\x04\x24")
        call("_puts")

    puts_message()
    code.extend(b"\xc7\x04\x24" + struct.pack("<I", CSTRING + len(MESSAGE)))
    code.extend(b"\xc7\x44\x24\x04" + struct.pack("<I", 42))
    call("_printf")
    puts_message()
    code.extend(b"\xb8\x07\x00\x00\x00\x83\xc4" + bytes([frame]) + b"\x5d\xc3")
    return bytes(code)


def _start(at: int, main: int, exit_stub: int) -> bytes:
    """and esp,-16; call main; sub esp,12; push eax; call exit; hlt."""
    code = bytearray(b"\x83\xe4\xf0")
    code += b"\xe8" + _rel(at + len(code) + 5, main)
    code += b"\x83\xec\x0c\x50"
    code += b"\xe8" + _rel(at + len(code) + 5, exit_stub)
    return bytes(code + b"\xf4")



def _section(sectname: str, segname: str, addr: int, data_size: int, flags: int,
             reserved1: int = 0, reserved2: int = 0, align: int = 2) -> bytes:
    offset = addr - TEXT if addr < DATA else addr - DATA + 0x1000
    return struct.pack("<16s16sIIIIIIIII", sectname.encode(), segname.encode(), addr,
                       data_size, offset, align, 0, 0, flags, reserved1, reserved2)


def _segment(name: str, vmaddr: int, vmsize: int, fileoff: int, filesize: int, prot: int,
             sections: list[bytes]) -> bytes:
    return struct.pack("<II16sIIIIiiII", LC_SEGMENT, 56 + 68 * len(sections), name.encode(),
                       vmaddr, vmsize, fileoff, filesize, prot, prot, len(sections),
                       0) + b"".join(sections)


def _padded_command(cmd: int, body: bytes) -> bytes:
    size = (8 + len(body) + 3) & ~3
    return struct.pack("<II", cmd, size) + body.ljust(size - 8, b"\0")


def build_i386(options: Options = Options()) -> bytes:
    classic = options.classic
    imports = ["_puts", "_printf", "_exit"] if classic else ["_puts", "_printf"]
    stub = {name: STUBS + STUB_SIZE * i for i, name in enumerate(imports)}
    if classic:
        start = _start(CODE, 0, stub["_exit"])
        main_at = CODE + len(start)
        start = _start(CODE, main_at, stub["_exit"])
        code = start + _main(main_at, stub, options.frame)
        slots = {name: NL_PTR + 4 * i for i, name in enumerate(imports)}
    else:
        main_at = CODE
        code = _main(main_at, stub, options.frame)
        slots = {name: LA_PTR + 4 * i for i, name in enumerate(imports)}
    stubs = b"".join(b"\xff\x25" + struct.pack("<I", slots[n]) for n in imports)
    cstrings = MESSAGE + FORMAT

    # symbols: extdefs (__mh_execute_header, _main[, start]) then the undefined imports
    extdefs = [("__mh_execute_header", 1, TEXT), ("_main", 1, main_at)]
    if classic:
        extdefs.append(("start", 1, CODE))
    undefs = [*imports] + ([] if classic else ["dyld_stub_binder"])
    strings = bytearray(b" \0")
    nlist = bytearray()
    for name, sect, value in extdefs:
        nlist += struct.pack("<IBBHI", len(strings), N_SECT | N_EXT, sect, 0, value)
        strings += name.encode() + b"\0"
    index: dict[str, int] = {}
    for name in undefs:
        index[name] = len(extdefs) + len(index)
        nlist += struct.pack("<IBBHI", len(strings), N_UNDF | N_EXT, 0, 1 << 8, 0)
        strings += name.encode() + b"\0"
    while len(strings) % 4:
        strings += b"\0"

    # indirect symbol table: stubs, then __nl_symbol_ptr, then __la_symbol_ptr
    indirect = [index[n] for n in imports]
    nl_names = imports if classic else ["dyld_stub_binder"]
    indirect += [index[n] for n in nl_names]
    if not classic:
        indirect += [index[n] for n in imports]

    text_sections = [
        _section("__text", "__TEXT", CODE, len(code),
                 S_REGULAR | S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS, align=4),
        _section("__symbol_stub1" if classic else "__stubs", "__TEXT", STUBS, len(stubs),
                 S_SYMBOL_STUBS | S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS, 0,
                 STUB_SIZE, align=1),
    ]
    helper = b""
    lazy = bytearray()
    if not classic:
        entries = []
        offsets = []
        for i, name in enumerate(imports):
            offsets.append(len(lazy))
            lazy += bytes([0x72]) + _uleb(LA_PTR + 4 * i - DATA) + b"\x11\x40"
            lazy += name.encode() + b"\0\x90\x00"
        if options.swap_helper_offsets:
            offsets.reverse()
        for i, _ in enumerate(imports):
            at = HELPER + HELPER_HEAD + HELPER_ENTRY * i
            entries.append(b"\x68" + struct.pack("<I", offsets[i]) + b"\xe9"
                           + _rel(at + HELPER_ENTRY, HELPER))
        helper = (b"\x68" + struct.pack("<I", DYLD_PRIVATE) + b"\xff\x25"
                  + struct.pack("<I", NL_PTR) + b"\x90" + b"".join(entries))
        text_sections.append(_section("__stub_helper", "__TEXT", HELPER, len(helper),
                                      S_REGULAR | S_ATTR_PURE_INSTRUCTIONS
                                      | S_ATTR_SOME_INSTRUCTIONS))
    text_sections.append(_section("__cstring", "__TEXT", CSTRING, len(cstrings),
                                  S_CSTRING_LITERALS, align=0))

    n_stub = len(imports)
    data_sections = [_section("__nl_symbol_ptr", "__DATA", NL_PTR, 4 * len(nl_names),
                              S_NON_LAZY_SYMBOL_POINTERS, n_stub)]
    la_values = b""
    if not classic:
        data_sections.append(_section("__la_symbol_ptr", "__DATA", LA_PTR, 4 * n_stub,
                                      S_LAZY_SYMBOL_POINTERS, n_stub + len(nl_names)))
        la_values = b"".join(struct.pack("<I", HELPER + HELPER_HEAD + HELPER_ENTRY * i)
                             for i in range(n_stub))
    data_sections.append(_section("__data", "__DATA", DATA_SECT, 8, S_REGULAR))

    # link-edit: rebase, bind, lazy bind, symbols, indirect table, strings
    rebase = bytearray(b"\x11")
    if not classic:
        rebase += b"\x22" + _uleb(LA_PTR - DATA) + bytes([0x50 | n_stub])
    rebase += b"\x22" + _uleb(MSG_POINTER - DATA) + b"\x51\x00"
    bind = b"\x11\x40dyld_stub_binder\0\x51\x72" + _uleb(NL_PTR - DATA) + b"\x90\x00"
    linkedit = bytearray()

    def piece(blob: bytes) -> tuple[int, int]:
        while len(linkedit) % 4:
            linkedit.append(0)
        at = 0x2000 + len(linkedit)
        linkedit.extend(blob)
        return at, len(blob)

    info = [] if classic else [piece(bytes(rebase)), piece(bind), (0, 0), piece(bytes(lazy)),
                               (0, 0)]
    symoff, _ = piece(bytes(nlist))
    indirectoff, _ = piece(b"".join(struct.pack("<I", k) for k in indirect))
    stroff, strsize = piece(bytes(strings))

    commands = [
        _segment("__PAGEZERO", 0, 0x1000, 0, 0, 0, []),
        _segment("__TEXT", TEXT, 0x1000, 0, 0x1000, 5, text_sections),
        _segment("__DATA", DATA, 0x1000, 0x1000, 0x1000, 3, data_sections),
        _segment("__LINKEDIT", LINKEDIT, 0x1000, 0x2000, len(linkedit), 1, []),
    ]
    if not classic:
        commands.append(struct.pack("<II10I", LC_DYLD_INFO_ONLY, 48,
                                    *(v for pair in info for v in pair)))
    commands.append(struct.pack("<II4I", LC_SYMTAB, 24, symoff, len(nlist) // 12, stroff,
                                strsize))
    n_ext = len(extdefs)
    commands.append(struct.pack("<II18I", LC_DYSYMTAB, 80, 0, 0, 0, n_ext, n_ext, len(undefs),
                                0, 0, 0, 0, 0, 0, indirectoff, len(indirect), 0, 0, 0, 0))
    commands.append(_padded_command(LC_LOAD_DYLINKER, struct.pack("<I", 12) + b"/usr/lib/dyld\0"))
    commands.append(_padded_command(LC_LOAD_DYLIB, struct.pack("<IIII", 24, 2, 0x10000, 0x10000)
                                    + LIBSYSTEM + b"\0"))
    if classic:
        state = [0] * THREAD_STATE32_COUNT
        state[EIP_INDEX] = CODE
        commands.append(struct.pack("<IIII16I", LC_UNIXTHREAD, 16 + 64, X86_THREAD_STATE32,
                                    THREAD_STATE32_COUNT, *state))
    else:
        commands.append(struct.pack("<IIQQ", LC_MAIN, 24, main_at - TEXT, 0))
    cmds = b"".join(commands)
    flags = MH_NOUNDEFS | MH_DYLDLINK | MH_TWOLEVEL
    header = struct.pack("<IiiIIII", MH_MAGIC, CPU_TYPE_I386, CPU_SUBTYPE_I386_ALL, MH_EXECUTE,
                         len(commands), len(cmds), flags)
    image = bytearray(0x2000)
    image[: len(header) + len(cmds)] = header + cmds
    assert len(header) + len(cmds) <= CODE - TEXT, "load commands overlap __text"

    def put(addr: int, blob: bytes) -> None:
        offset = addr - TEXT if addr < DATA else addr - DATA + 0x1000
        image[offset : offset + len(blob)] = blob

    put(CODE, code)
    put(STUBS, stubs)
    put(HELPER, helper)
    put(CSTRING, cstrings)
    put(LA_PTR, la_values)
    put(MSG_POINTER, struct.pack("<I", CSTRING))
    return bytes(image + linkedit)
