"""The `semantic` mutation family: structure-level rewrites of the same valid inputs the
byte family (fuzz/hostile/mutate.py) mutates, run by the same targets, cases, rules and
campaign runner.

Where the byte family sets a field to an extreme or flips bits, this family parses the
input and rewrites it as a structure: a link to another section, a symbol or relocation
index one past its table, a second symbol table, a group naming itself, a hash chain that
loops, a dyld opcode stream repeating a bind 2**62 times, an export trie pointing back at
its root, an archive made thin and naming /dev/zero, a script that includes itself, YAML
aliases that expand exponentially (semantic_elf.py, semantic_elf_contents.py,
semantic_macho.py, semantic_macho_dyld.py and semantic_text.py say which).  A campaign or property picks the family by target name:
`T@semantic` is target T with this family's mutations (`split_family`).

    .venv/bin/python -m fuzz.hostile.campaign --family semantic --seconds 60 [--target T]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import (
    semantic_elf,
    semantic_elf_contents,
    semantic_macho,
    semantic_macho_dyld,
    semantic_text,
)
from .havoc import SUFFIX as HAVOC_SUFFIX
from .mutate import Picker, Seed, choose

SUFFIX = "@semantic"
OPTIONS_SUFFIX = "@options"  # the command-line family (command_lines.py)
FAMILIES = ("bytes", "semantic", "options", "havoc")
ATTEMPTS = 8  # operators drawn until one finds something to change
# in the order the family always drew them (a case's number gives the same input)
ELF_OPS = (*semantic_elf.TABLE_OPS, *semantic_elf_contents.CONTENT_OPS)
MACHO_OPS = (*semantic_macho.TABLE_OPS, *semantic_macho_dyld.DYLD_OPS)


def split_family(target: str) -> tuple[str, str]:
    """`T@semantic` -> (T, "semantic"), `T@options` -> (T, "options"), `T@havoc` -> (T,
    "havoc", fuzz/hostile/havoc.py); a plain name is the byte family's."""
    if target.endswith(SUFFIX):
        return target[:-len(SUFFIX)], "semantic"
    if target.endswith(OPTIONS_SUFFIX):
        return target[:-len(OPTIONS_SUFFIX)], "options"
    if target.endswith(HAVOC_SUFFIX):
        return target[:-len(HAVOC_SUFFIX)], "havoc"
    return target, "bytes"


def _elf_once(pick: Picker, data: bytearray) -> str | None:
    elf = semantic_elf.parse_elf(bytes(data))
    if elf is None:
        return None
    for _ in range(ATTEMPTS):
        done = choose(pick, ELF_OPS)(pick, elf)
        if done:
            data[:] = elf.data
            return done
    return None


def _macho_once(pick: Picker, data: bytearray) -> str | None:
    if pick.integer(0, 5) == 0:
        done = semantic_macho_dyld.fat(pick, data)
        if done:
            return done
    m = semantic_macho.parse_macho(bytes(data), pick)
    if m is None:
        return None
    for _ in range(ATTEMPTS):
        done = choose(pick, MACHO_OPS)(pick, m)
        if done:
            data[:] = m.data
            return done
    return None


def _member_once(pick: Picker, data: bytearray) -> str | None:
    """An object inside an archive rewritten in place (its size kept: the index stays
    right, so the reader reaches the member)."""
    members = [(at, name, size) for at, name, size in semantic_text._members(bytes(data))
               if not name.startswith((b"/ ", b"// ", b"/SYM64/", b"__.SYMDEF"))]
    if not members or bytes(data[:8]) != semantic_text.AR_MAGIC:
        return None
    at, name, size = choose(pick, members)
    body = at + 60
    if name.startswith(b"#1/"):  # BSD: the name's N bytes come first
        try:
            skip = int(name[3:].split()[0])
        except (ValueError, IndexError):
            return None
        if data[body:body + skip].startswith(b"__.SYMDEF"):
            return None
        body, size = body + skip, size - skip
    member = bytearray(data[body:body + size])
    done = _binary_once(pick, member)
    if not done or len(member) != size:
        return None
    data[body:body + size] = member
    return f"member at {at:#x}: {done}"


def _binary_once(pick: Picker, data: bytearray) -> str | None:
    head = bytes(data[:8])
    if head[:4] == b"\x7fELF":
        return _elf_once(pick, data)
    if head[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return _macho_once(pick, data)
    if head in (semantic_text.AR_MAGIC, semantic_text.THIN_MAGIC):
        if pick.integer(0, 1):
            done = _member_once(pick, data)
            if done:
                return done
        return semantic_text.archive(pick, data)
    return None


def _text_once(pick: Picker, seed: Seed, data: bytearray) -> str | None:
    text = bytes(data).decode("utf-8", "surrogateescape")
    rewrite: Callable[..., tuple[str, str]]
    args: list[Any] = [pick, text]
    if seed.name.endswith(".tbd") or text.startswith("--- !tapi"):
        rewrite = semantic_text.tbd
    elif seed.name.endswith(".map"):
        rewrite = semantic_text.version_script
    else:
        rewrite = semantic_text.script
        args.append(seed.name)
    new, done = rewrite(*args)
    data[:] = new.encode("utf-8", "surrogateescape")
    return done


def mutate_semantic(pick: Picker, seed: Seed) -> tuple[bytes, list[str]]:
    """One or two structure-level rewrites of `seed` (what mutate.mutate is for bytes)."""
    out = bytearray(seed.data)
    done: list[str] = []
    binary = bool(seed.layout.fields)
    for _ in range(pick.integer(1, 2)):
        what = _binary_once(pick, out) if binary else _text_once(pick, seed, out)
        done.append(what or "nothing to rewrite")
    return bytes(out), done
