"""A linked dylib as a link input (`libfoo.dylib` on the command line or found by -lfoo),
the way ld64 reads one: its install name and versions from LC_ID_DYLIB (recorded in the
output's LC_LOAD_DYLIB, whose compatibility version dyld checks) and what it exports from its
export trie (LC_DYLD_INFO(_ONLY)'s or LC_DYLD_EXPORTS_TRIE), or, for a dylib without
either, from the external definitions of its symbol table.  Nothing else of the file
matters to a link against it: the executable binds to names, through the install name.

Every read is bounds-checked: a malformed file is one LinkError naming the offset.
"""

from __future__ import annotations

import struct

from ..errors import LinkError
from ..model import DynamicLibrary, DynamicSymbol, SymType

MH_MAGIC, MH_MAGIC_64, MH_DYLIB = 0xFEEDFACE, 0xFEEDFACF, 6
CPU_TYPES = {"x86_64": 0x01000007, "i386": 7}
LC_SYMTAB, LC_ID_DYLIB = 0x2, 0xD
LC_DYLD_INFO, LC_DYLD_INFO_ONLY, LC_DYLD_EXPORTS_TRIE = 0x22, 0x80000022, 0x80000033
EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION, EXPORT_SYMBOL_FLAGS_REEXPORT = 0x4, 0x8
N_STAB, N_PEXT, N_TYPE, N_EXT, N_SECT, N_WEAK_DEF = 0xE0, 0x10, 0x0E, 0x01, 0xE, 0x80
MAX_TRIE_NODES = 1 << 20  # a loop in a corrupt trie stops here


def is_macho_dylib(data: bytes) -> bool:
    if len(data) < 16:
        return False
    magic, _, _, filetype = struct.unpack_from("<IiiI", data)
    return magic in (MH_MAGIC, MH_MAGIC_64) and filetype == MH_DYLIB


def read_dylib(data: bytes, path: str, arch: str) -> DynamicLibrary:
    """The dylib as a library to link against; one LinkError for a malformed file."""
    try:
        return _read_dylib(data, path, arch)
    except struct.error as err:
        raise LinkError(f"truncated MH_DYLIB ({err})", file=path, offset=len(data)) from None


def _read_dylib(data: bytes, path: str, arch: str) -> DynamicLibrary:
    if len(data) < 28:
        raise LinkError("an MH_DYLIB shorter than its mach_header", file=path, offset=0)
    magic, cputype, _, _, ncmds, sizeofcmds, _ = struct.unpack_from("<IiiIIII", data)
    if cputype != CPU_TYPES.get(arch):
        raise LinkError(f"dylib for cputype {cputype:#x} in a link for {arch} (-arch)",
                        file=path, offset=4)
    offset = 32 if magic == MH_MAGIC_64 else 28
    end = offset + sizeofcmds
    if end > len(data):
        raise LinkError("sizeofcmds runs past the end of the file", file=path, offset=20)
    install_name = None
    versions = (0x10000, 0x10000)
    trie: tuple[int, int] | None = None
    symtab: tuple[int, int, int, int] | None = None
    for _ in range(ncmds):
        if offset + 8 > end:
            raise LinkError("load commands run past sizeofcmds", file=path, offset=offset)
        cmd, size = struct.unpack_from("<II", data, offset)
        if size < 8 or offset + size > end:
            raise LinkError(f"load command {cmd:#x}: bad cmdsize {size}", file=path,
                            offset=offset)
        body = data[offset:offset + size]
        if cmd == LC_ID_DYLIB and size >= 24:
            # dyld and ld64 refuse a second identity: which install name would the
            # executable record?  (A second one naming libSystem took libSystem's place.)
            if install_name is not None:
                raise LinkError("more than one LC_ID_DYLIB", file=path, offset=offset)
            (name_at,) = struct.unpack_from("<I", body, 8)
            if not 24 <= name_at < size:
                raise LinkError("LC_ID_DYLIB: name offset outside the command", file=path,
                                offset=offset + 8)
            install_name = body[name_at:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            versions = struct.unpack_from("<II", body, 16)
        elif cmd in (LC_DYLD_INFO, LC_DYLD_INFO_ONLY) and size >= 48:
            export = struct.unpack_from("<II", body, 40)
            trie = export if export[1] else trie
        elif cmd == LC_DYLD_EXPORTS_TRIE and size >= 16:
            trie = struct.unpack_from("<II", body, 8)
        elif cmd == LC_SYMTAB and size >= 24:
            symtab = struct.unpack_from("<IIII", body, 8)
        offset += size
    if install_name is None:
        raise LinkError("an MH_DYLIB without LC_ID_DYLIB", file=path, offset=16)
    if trie is not None:
        symbols = _trie_exports(data, trie, path)
    else:
        symbols = _symtab_exports(data, symtab, magic == MH_MAGIC_64, path)
    return DynamicLibrary(path=path, soname=install_name, symbols=symbols,
                          macho_versions=(versions[0], versions[1]))


def _uleb(data: bytes, at: int, end: int, path: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= end:
            raise LinkError("export trie: a ULEB128 runs past the trie", file=path, offset=at)
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _trie_exports(data: bytes, trie: tuple[int, int], path: str) -> dict[str, DynamicSymbol]:
    start, size = trie
    end = start + size
    if end > len(data):
        raise LinkError("export trie runs past the end of the file", file=path, offset=start)
    out: dict[str, DynamicSymbol] = {}
    stack = [(0, b"")]
    seen: set[int] = set()
    while stack:
        node, prefix = stack.pop()
        at = start + node
        if node in seen or len(seen) > MAX_TRIE_NODES:
            raise LinkError("export trie: a node is reached twice", file=path, offset=at)
        seen.add(node)
        info_size, at = _uleb(data, at, end, path)
        children_at = at + info_size
        if info_size:
            flags, at = _uleb(data, at, end, path)
            if not flags & EXPORT_SYMBOL_FLAGS_REEXPORT:
                name = prefix.decode("utf-8", "surrogateescape")
                out[name] = DynamicSymbol(name, SymType.FUNC, 0,
                                          weak=bool(flags & EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION))
        if children_at >= end:
            raise LinkError("export trie: a node runs past the trie", file=path, offset=at)
        count = data[children_at]
        at = children_at + 1
        for _ in range(count):
            stop = data.find(b"\0", at, end)
            if stop < 0:
                raise LinkError("export trie: an edge label runs past the trie", file=path,
                                offset=at)
            label = data[at:stop]
            child, at = _uleb(data, stop + 1, end, path)
            if child >= size:
                raise LinkError(f"export trie: child offset {child:#x} is outside the trie",
                                file=path, offset=stop + 1)
            stack.append((child, prefix + label))
    return out


def _symtab_exports(data: bytes, symtab: tuple[int, int, int, int] | None, wide: bool,
                    path: str) -> dict[str, DynamicSymbol]:
    if symtab is None:
        return {}
    symoff, nsyms, stroff, strsize = symtab
    nlist = struct.Struct("<IBBHQ" if wide else "<IBBHI")
    if symoff + nsyms * nlist.size > len(data) or stroff + strsize > len(data):
        raise LinkError("symbol table runs past the end of the file", file=path, offset=symoff)
    strings = data[stroff:stroff + strsize]
    out: dict[str, DynamicSymbol] = {}
    for strx, ntype, _, desc, _ in nlist.iter_unpack(data[symoff:symoff + nsyms * nlist.size]):
        if ntype & N_STAB or ntype & N_PEXT or not ntype & N_EXT or ntype & N_TYPE != N_SECT:
            continue
        name = strings[strx:].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        out[name] = DynamicSymbol(name, SymType.FUNC, 0, weak=bool(desc & N_WEAK_DEF))
    return out
