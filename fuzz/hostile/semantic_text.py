"""Structure-level rewrites of `ar` archives and of the text inputs (the `semantic`
family's other half, fuzz/hostile/semantic.py).

Archives: a member's size one off or in another notation, its name a GNU long-name offset
into the middle of a name or past the table, a BSD `#1/N` name longer than the member,
a path climbing out of the directory; the symbol index's count and offsets lying (a member
offset into a header, past the end, onto the index itself); the archive made thin, its
members naming absent files, directories, devices and paths outside it.

Text (GNU ld scripts, version scripts, `.tbd` stubs): grammar-level rewrites rather than
byte edits: nesting thousands deep, a script that names itself, unterminated comments and
strings, numbers past 2**64 and past Python's int-parsing limit, glob patterns that make a
backtracking matcher crawl, version nodes depending on themselves; YAML anchors and aliases
whose expansion is exponential, flow collections nested past the parser's recursion, keys
of the wrong type, tags, documents repeated.
"""

from __future__ import annotations

from .mutate import Picker, choose

AR_MAGIC, THIN_MAGIC = b"!<arch>\n", b"!<thin>\n"


def _members(data: bytes) -> list[tuple[int, bytes, int]]:
    """(header offset, name field, size) of each member of an archive."""
    out: list[tuple[int, bytes, int]] = []
    at = 8
    while at + 60 <= len(data) and len(out) < 512:
        name, size_text = data[at:at + 16], data[at + 48:at + 58]
        try:
            size = int(size_text.decode().strip() or "0")
        except ValueError:
            break
        out.append((at, name, size))
        at += 60 + size + (size & 1)
    return out


def _ascii(value: bytes, width: int) -> bytes:
    return value[:width].ljust(width)


HOSTILE_PATHS = (b"/etc/passwd", b"/dev/zero", b"/tmp", b"../../../../../../etc/shadow",
                 b"absent.o", b"/proc/self/mem", b"", b".", b"/dev/stdin", b"a" * 300,
                 b"/nonexistent/x.o", b"sub/../../x.o")


def archive(pick: Picker, data: bytearray) -> str | None:
    if bytes(data[:8]) not in (AR_MAGIC, THIN_MAGIC):
        return None
    members = _members(bytes(data))
    if not members:
        return None
    at, _name, size = choose(pick, members)
    kind = pick.integer(0, 5)
    if kind == 0:
        size_text = choose(pick, [str(size - 1), str(size + 1), str(size + 2), "0",
                                  str(len(data)), "9" * 10, "-1", "", "0x10", "1e3", " 12 3",
                                  str(size) + "\x00"])
        data[at + 48:at + 58] = _ascii(size_text.encode(), 10)
        return f"member at {at:#x} size {size} -> {size_text!r}"
    if kind == 1:
        table = next(((a, s) for a, n, s in members if n.startswith(b"// ")), None)
        middle = pick.integer(1, max(table[1] - 1, 1)) if table else 3
        name = choose(pick, [b"/", b"//", b"/0", b"/9999999", b"/" + str(middle).encode(),
                             b"noslash", b"../../../x.o/", b"#1/20", b"#1/99999", b"#1/0",
                             b"/SYM64/", b"/-1", b"/ 1", b"#1/-5",
                             b"/" + str(table[1] if table else 1).encode()])
        data[at:at + 16] = _ascii(name, 16)
        return f"member at {at:#x} name -> {name!r}"
    if kind == 2:
        index = next(((a, s) for a, n, s in members if n.startswith(b"/ ")), None)
        if index is None or index[1] < 8:
            return None
        body = index[0] + 60
        count = int.from_bytes(data[body:body + 4], "big")
        if pick.integer(0, 2) == 0 or not count:
            value = choose(pick, [count + 1, 0xFFFFFFFF, 0, count * 1000, 0x3FFFFFFF])
            data[body:body + 4] = (value & 0xFFFFFFFF).to_bytes(4, "big")
            return f"symbol index count {count} -> {value:#x}"
        slot = body + 4 + 4 * pick.integer(0, min(count, (index[1] - 4) // 4) - 1)
        value = choose(pick, [0, 8, index[0], len(data), len(data) - 10, 0xFFFFFFFF,
                              choose(pick, members)[0] + 1, choose(pick, members)[0] + 60])
        data[slot:slot + 4] = (value & 0xFFFFFFFF).to_bytes(4, "big")
        return f"symbol index entry at {slot:#x} -> {value:#x}"
    if kind == 3:
        table = next(((a, s) for a, n, s in members if n.startswith(b"// ")), None)
        if table is None:
            return None
        body = table[0] + 60
        if pick.integer(0, 1):
            data[body:body + table[1]] = data[body:body + table[1]].replace(b"/\n", b"xx")
            return "long-name table without its terminators"
        data[table[0] + 48:table[0] + 58] = _ascii(str(pick.integer(0, table[1])).encode(), 10)
        return "long-name table cut short"
    if kind == 4:
        return _thin(pick, data, members)
    src = choose(pick, members)
    piece = bytes(data[src[0]:src[0] + 60 + src[2] + (src[2] & 1)])
    data += piece
    return f"member at {src[0]:#x} appended again"


def _thin(pick: Picker, data: bytearray, members: list[tuple[int, bytes, int]]) -> str:
    """The archive made thin: every member's data dropped, its name a path (a GNU long
    name, as ar writes them) a hostile one for one member."""
    names = []
    table = next((bytes(data[a + 60:a + 60 + s]) for a, n, s in members
                  if n.startswith(b"// ")), b"")
    hostile = choose(pick, HOSTILE_PATHS)
    victim = pick.integer(0, len(members) - 1)
    out = bytearray(THIN_MAGIC)
    long_names = bytearray()
    for k, (at, name, size) in enumerate(members):
        if name.startswith((b"/ ", b"// ", b"/SYM64/")):
            continue
        if name.startswith(b"/") and name[1:2].isdigit():
            start = int(name[1:].split()[0])
            path = table[start:table.find(b"/\n", start)]
        else:
            path = name.split(b"/")[0].strip()
        if k == victim:
            path = hostile
        names.append(path)
        header = (b"/" + str(len(long_names)).encode()).ljust(16) + bytes(data[at + 16:at + 48])
        long_names += path + b"/\n"
        out += header + _ascii(str(size).encode(), 10) + b"`\n"
    data[:] = out[:8] + (b"//".ljust(48) + _ascii(str(len(long_names)).encode(), 10)
                         + b"`\n" + long_names + b"\n" * (len(long_names) & 1)) + out[8:]
    return f"made thin, members naming {names[:4]}"


def _deep(pick: Picker, opening: str, closing: str, inner: str) -> str:
    depth = choose(pick, [50, 500, 999, 1001, 5000, 30000])
    return opening * depth + inner + closing * depth


def script(pick: Picker, text: str, own_name: str) -> tuple[str, str]:
    """A GNU ld script rewritten at the grammar level."""
    kind = pick.integer(0, 9)
    if kind == 0:
        return text.replace("AS_NEEDED (", _deep(pick, "AS_NEEDED ( ", " )", "") + " AS_NEEDED ("
                            , 1), "AS_NEEDED nested deep"
    if kind == 1:
        return text + f"\nGROUP ( {own_name} )\n", "the script names itself"
    if kind == 2:
        return text + choose(pick, ["\n/* unterminated", '\nGROUP ( "x.so', "\nGROUP (",
                                    "\nINCLUDE", "\n*/", "\n)"]), "unterminated construct"
    if kind == 3:
        number = choose(pick, ["0x" + "f" * 40, "9" * 5000, "-1", "1K" * 3, "0x1p3"])
        return text + f"\nSEARCH_DIR({number})\nOUTPUT_FORMAT({number})\n", "huge numbers"
    if kind == 4:
        return text + f"\nINCLUDE {own_name}\n", "INCLUDE of itself"
    if kind == 5:
        path = choose(pick, [p.decode() for p in HOSTILE_PATHS if p])
        return text.replace("GROUP ( ", f"GROUP ( {path} ", 1), f"names {path}"
    if kind == 6:
        return text + _deep(pick, "OUTPUT_FORMAT(", ")", "x"), "parentheses nested deep"
    if kind == 7:
        return text + "\nGROUP ( -l" + choose(pick, ["", "../../etc/passwd", "c" * 300,
                                                     "group", "*"]) + " )\n", "a hostile -l"
    if kind == 8:
        return text + "\nSECTIONS { . = 0x" + "f" * 20 + "; }\nMEMORY {}\n", "layout commands"
    return text.replace("(", " ( " * 3, 1), "unbalanced parentheses"


def version_script(pick: Picker, text: str) -> tuple[str, str]:
    kind = pick.integer(0, 8)
    if kind == 0:
        return (text.replace("global:", "global: " + _deep(pick, 'extern "C" { ', " };", "x;"),
                         1), 'extern "C" nested deep')
    if kind == 1:
        pattern = choose(pick, ["*a" * 40 + "b", "?" * 5000, "[" * 3000, "[!", "[]]",
                                "[z-a]", "*" * 10000, "[" + "a-" * 1000 + "]", "\\"])
        return text.replace("global:", f"global: {pattern};", 1), "hostile glob"
    if kind == 2:
        return text.replace("} LIBM1_1.0;", "} LIBM1_2.0;"), "a node depending on itself"
    if kind == 3:
        return (text.replace("} LIBM1_1.0;", "} LIBM1_2.0;").replace(
            "LIBM1_1.0 {", "LIBM1_1.0 {").replace("local: *;\n};", "local: *;\n} LIBM1_2.0;"),
            "two nodes depending on each other")
    if kind == 4:
        return text + choose(pick, ['\nV { global: "unterminated', "\n/* unterminated",
                                    "\nV {", "\n}", "\n{ x; };", "\nV { global: ; };",
                                    "\nV { local: local: ; };", "\nVERSION {"]), "unterminated"
    if kind == 5:
        return text + _deep(pick, "V { ", " };", "x;"), "nodes nested deep"
    if kind == 6:
        names = " ".join(f"N{i}" for i in range(choose(pick, [100, 3000])))
        return text + f"\nV2 {{ x; }} {names};\n", "many parents"
    if kind == 7:
        return "\n".join(f"V{i} {{ global: f{i}; }} V{i - 1};" if i else "V0 { f0; };"
                         for i in range(choose(pick, [500, 2000]))), "a long chain of nodes"
    return text.replace("f*", "\"f\\" + choose(pick, ["", "\"", "\\\\", "\x00"]) + "\"",
                        1), "a quoted pattern with escapes"


def tbd(pick: Picker, text: str) -> tuple[str, str]:
    kind = pick.integer(0, 9)
    if kind == 0:
        inner = _deep(pick, "[", "]", "_x")
        return text.replace("symbols:         [", f"symbols: [ {inner}, ", 1), "nested flow"
    if kind == 1:
        levels = ["l0: &l0 [" + ", ".join(["_x"] * 10) + "]"]
        levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 7)]
        head, _, rest = text.partition("exports:")
        body = rest.replace("symbols:         [", "symbols: [ *l6, ", 1)
        return head + "\n".join(levels) + "\nexports:" + body, "exponential aliases"
    if kind == 2:
        number = choose(pick, ["9" * 5000, "0x" + "f" * 5000, "1e999", ".nan", "-.inf",
                               "0o" + "7" * 5000, "1_000", "0b" + "1" * 70])
        key = choose(pick, ["current-version", "compatibility-version", "tbd-version",
                            "symbols"])
        if key == "symbols":
            return text.replace("symbols:         [", f"symbols: [ {number}, ", 1), "number"
        return text + f"\n{key}: {number}\n", f"{key} a huge number"
    if kind == 3:
        value = choose(pick, ["5", "{a: b}", "[[a]]", "null", "~", "!!binary aGk=", "''",
                              "[ x86_64-macos, [i386] ]", "&a [*a]"])
        key = choose(pick, ["targets", "symbols", "exports", "install-name", "archs"])
        return (text.replace(f"{key}:", f"{key}: {value}\nignored-{key}:", 1),
                f"{key}: {value}")
    if kind == 4:
        return text.replace("install-name:", "install-name: " + choose(
            pick, ["''", "'" + "/a" * 20000 + "'", "!!python/name:os.system", "*undefined",
                   "[1, 2]", "'\\x00'", "\"\\0\\ud800\""]) + "\nignored:", 1), "install name"
    if kind == 5:
        return text + "\n" + text * choose(pick, [2, 50]), "documents repeated"
    if kind == 6:
        return text.replace("---", choose(pick, ["--- !!map", "--- !!seq", "--- !tapi-tbd-v9",
                                                 "--- !!python/object:os.system",
                                                 "%YAML 9.9\n---", "%TAG ! tag:x:\n---"]),
                            1), "document tag"
    if kind == 7:
        return text.replace("exports:", "exports: &e\n  - <<: *e\n", 1), "recursive merge key"
    if kind == 8:
        return text.replace("symbols:         [", "symbols: [ " + ", ".join(
            f"_s{i}" for i in range(choose(pick, [1000, 20000]))) + ", ", 1), "many symbols"
    return text.replace("targets:", "targets: &t\n  - *t\ntargets-old:", 1), "self alias"
