"""linker.elf.script: the GROUP/INPUT/AS_NEEDED scripts that libc.so is."""

from __future__ import annotations

from pathlib import Path

import pytest

from linker.elf.script import ScriptInput, looks_like_script, parse_script
from linker.errors import LinkError


def test_glibc_libc_so() -> None:
    text = Path("/usr/lib/x86_64-linux-gnu/libc.so").read_text()
    assert looks_like_script(text.encode())
    items = parse_script(text, "libc.so")
    assert [i.name for i in items if not i.as_needed] == [
        "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc_nonshared.a"]
    assert [i.name for i in items if i.as_needed] == ["/lib64/ld-linux-x86-64.so.2"]
    assert all(i.in_group for i in items)


def test_input_and_comments() -> None:
    items = parse_script("/* c */ INPUT(a.o, -lfoo) OUTPUT_ARCH(i386:x86-64)\n"
                         "GROUP(b.a AS_NEEDED(c.so))", "s")
    assert items == [ScriptInput("a.o", False, False), ScriptInput("-lfoo", False, False),
                     ScriptInput("b.a", False, True), ScriptInput("c.so", True, True)]


def test_layout_commands_are_refused() -> None:
    with pytest.raises(LinkError, match="'SECTIONS' is not supported"):
        parse_script("SECTIONS { . = 0x1000; }", "layout.ld")


def test_unbalanced() -> None:
    with pytest.raises(LinkError, match="expected '\\)'"):
        parse_script("GROUP ( a.o", "bad.ld")


def test_binary_is_not_a_script() -> None:
    assert not looks_like_script(b"\x00\x01GROUP")
