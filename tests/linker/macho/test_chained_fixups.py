"""Chained fixups (LC_DYLD_CHAINED_FIXUPS + LC_DYLD_EXPORTS_TRIE): linkharness writes them
with -fixup_chains (and by default from macOS 12, ld64's rule), -no_fixup_chains keeps the
dyld-info opcodes; the emulated dyld applies both to the same program with the same
behaviour; the checker's chain rules hold on our output and fire on mutations of it; the
dyld also takes DYLD_CHAINED_PTR_64_OFFSET (the output rewritten to it here)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from linker import LinkError, link
from oracle import run
from oracle.check import check
from oracle.check.macho import check_macho
from oracle.emulate.macho import chained as ch
from oracle.emulate.macho import image as mi

PROGRAM = r"""
int printf(const char *, ...);
int puts(const char *);
int atexit(void (*)(void));
extern void *__stdoutp;
int fprintf(void *, const char *, ...);
static int counter = 3;
int *pointer = &counter;
int (*fp)(const char *) = puts;
const char *names[] = {"zero", "one", "two"};
static void bye(void) { puts("bye"); }
int main(int argc, char **argv) {
    atexit(bye);
    fp("via pointer");
    printf("argc=%d counter=%d %s\n", argc, *pointer, names[argc]);
    fprintf(__stdoutp, "%s\n", argv[argc - 1]);
    return 7;
}
"""
EXPECTED = b"via pointer\nargc=1 counter=3 one\np\nbye\n"
BIG_ADDEND = r"""
int printf(const char *, ...);
extern char *environ_words[] __asm__("_environ");
char **far = &environ_words[300];  /* a bind whose addend (2400) does not fit 8 bits */
int main(void) { printf("%d\n", (int)(far - environ_words)); return 0; }
"""


def commands(path: Path) -> set[int]:
    return {lc.cmd for lc in mi.parse(path.read_bytes()).commands}


@pytest.fixture(scope="module")
def obj(macho_cc: Callable[..., Path]) -> Path:
    return macho_cc(PROGRAM, "chained")


@pytest.fixture(scope="module")
def outputs(obj: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("chained")
    out = {}
    for name, chains in (("chained", True), ("opcodes", False)):
        out[name] = root / name
        link([obj, "-lSystem"], out[name], target="macho-x86_64", fixup_chains=chains)
    return out


def test_both_encodings_behave_alike(outputs: dict[str, Path]) -> None:
    assert mi.LC_DYLD_CHAINED_FIXUPS in commands(outputs["chained"])
    assert mi.LC_DYLD_EXPORTS_TRIE in commands(outputs["chained"])
    assert 0x80000022 not in commands(outputs["chained"])  # no LC_DYLD_INFO_ONLY
    assert mi.LC_DYLD_CHAINED_FIXUPS not in commands(outputs["opcodes"])
    for path in outputs.values():
        assert check(path) == []
        for bind in ("lazy", "now"):
            result = run(str(path), ["p"], bind=bind)
            assert (result.stdout, result.exit_code, result.faults) == (EXPECTED, 7, [])


def test_the_chains_hold_every_fixup(outputs: dict[str, Path]) -> None:
    fixups = ch.read_fixups(mi.parse(outputs["chained"].read_bytes()))
    names = {imp.name for imp in fixups.imports}
    assert {"_puts", "_printf", "_fprintf", "___stdoutp", "_atexit"} <= names
    assert fixups.imports and all(imp.ordinal == 1 for imp in fixups.imports)
    rebases = [f for f in fixups.fixups if not f.bind]
    assert len(rebases) >= 4  # pointer, names[3]
    assert {s.pointer_format for s in fixups.starts} == {ch.DYLD_CHAINED_PTR_64}


@pytest.mark.parametrize(("version", "chained"), [("12.0", True), ("13.0", True),
                                                  ("11.0", False), ("10.9", False)])
def test_the_default_follows_the_deployment_target(obj: Path, tmp_path: Path, version: str,
                                                   chained: bool) -> None:
    major, minor = (int(p) for p in version.split("."))
    out = tmp_path / "p"
    link([obj, "-lSystem"], out, target="macho-x86_64",
         platform_version=((major << 16) | (minor << 8), 0x000D0000))
    assert (mi.LC_DYLD_CHAINED_FIXUPS in commands(out)) == chained
    result = run(str(out), ["p"])
    assert (result.stdout, result.exit_code) == (EXPECTED, 7)


def test_no_fixup_chains_overrides_the_default(obj: Path, tmp_path: Path) -> None:
    out = tmp_path / "p"
    link([obj, "-lSystem"], out, target="macho-x86_64", platform_version=(0x000D0000, 0x000D0000),
         fixup_chains=False)
    assert mi.LC_DYLD_CHAINED_FIXUPS not in commands(out)


@pytest.mark.parametrize(("asked", "chained"), [(None, False), (True, True)])
def test_dynamic_lookup_keeps_the_opcodes_by_default(macho_cc: Callable[..., Path],
                                                     tmp_path: Path, asked: bool | None,
                                                     chained: bool) -> None:
    """A Python-extension-style bundle (`-undefined dynamic_lookup`) for macOS 12: ld64
    keeps the dyld-info opcodes (from Xcode 14.3), unless -fixup_chains asks."""
    o = macho_cc("extern int host_value(void);\nint ext(void) { return host_value(); }\n",
                 "flat-bundle")
    out = tmp_path / "ext.so"
    link([o, "-lSystem"], out, target="macho-x86_64", platform_version=(0x000C0000, 0x000D0000),
         fixup_chains=asked, macho_options={"output_kind": "bundle", "undefined_dynamic_lookup": True})
    assert (mi.LC_DYLD_CHAINED_FIXUPS in commands(out)) == chained
    assert check(out) == []


def test_i386_refuses_fixup_chains(macho32_cc: Callable[..., Path], tmp_path: Path) -> None:
    o = macho32_cc("int main(void) { return 0; }\n", "chain32")
    with pytest.raises(LinkError, match="-fixup_chains: chained fixups are written for "
                                        "x86_64 modern images only"):
        link([o, "-lSystem"], tmp_path / "p", target="macho-i386", fixup_chains=True)


def test_a_large_addend_uses_the_addend_import_format(macho_cc: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    o = macho_cc(BIG_ADDEND, "bigaddend")
    out = tmp_path / "p"
    link([o, "-lSystem"], out, target="macho-x86_64", fixup_chains=True)
    img = mi.parse(out.read_bytes())
    assert img.chained_fixups is not None
    header = struct.unpack_from("<7I", img.data, img.chained_fixups[0])
    assert header[5] == ch.DYLD_CHAINED_IMPORT_ADDEND
    assert check(out) == []
    result = run(str(out))
    assert (result.stdout, result.exit_code, result.faults) == (b"300\n", 0, [])


def _payload(data: bytes) -> tuple[int, tuple[int, ...]]:
    img = mi.parse(data)
    assert img.chained_fixups is not None
    at = img.chained_fixups[0]
    return at, struct.unpack_from("<7I", data, at)


def _first_data_starts(data: bytes) -> int:
    """File offset of the first segment starts record (the __DATA one)."""
    at, header = _payload(data)
    starts = at + header[1]
    (count,) = struct.unpack_from("<I", data, starts)
    info = next(o for o in struct.unpack_from(f"<{count}I", data, starts + 4) if o)
    return starts + info


def test_the_dyld_reads_the_offset_pointer_format(outputs: dict[str, Path],
                                                  tmp_path: Path) -> None:
    data = bytearray(outputs["chained"].read_bytes())
    img = mi.parse(bytes(data))
    base = img.header_address()
    record = _first_data_starts(bytes(data))
    struct.pack_into("<H", data, record + 6, ch.DYLD_CHAINED_PTR_64_OFFSET)
    for fix in ch.read_fixups(img).fixups:  # the targets become offsets from the header
        if not fix.bind:
            seg = img.segment_at(fix.address, 8)
            assert seg is not None
            at = seg.fileoff + fix.address - seg.vmaddr
            (raw,) = struct.unpack_from("<Q", data, at)
            target = (raw & ((1 << 36) - 1)) - base
            struct.pack_into("<Q", data, at, (raw & ~((1 << 36) - 1)) | target)
    out = tmp_path / "offset"
    out.write_bytes(bytes(data))
    assert check(out) == []
    result = run(str(out), ["p"])
    assert (result.stdout, result.exit_code, result.faults) == (EXPECTED, 7, [])


def _mutate(data: bytes, rule: str) -> bytes:
    out = bytearray(data)
    at, header = _payload(data)
    record = _first_data_starts(data)
    if rule == "MACHO-CHAIN-DECODE":
        struct.pack_into("<I", out, at + 20, 9)  # imports_format 9
    elif rule == "MACHO-CHAIN-PAGE":
        struct.pack_into("<H", out, record + 22, 0xFFC)  # a chain starting 4 bytes before the end
    elif rule == "MACHO-CHAIN-ORDINAL":
        imports = at + header[2]
        (word,) = struct.unpack_from("<I", out, imports)
        struct.pack_into("<I", out, imports, (word & ~0xFF) | 9)  # library ordinal 9
    elif rule == "MACHO-CHAIN-STARTS":
        struct.pack_into("<Q", out, record + 8, 0)  # segment_offset of __TEXT
    elif rule == "MACHO-CHAIN-EXCLUSIVE":
        # the __LINKEDIT slot names __DATA's starts record too: dyld would walk (and fix)
        # every __DATA pointer twice
        starts = at + header[1]
        (count,) = struct.unpack_from("<I", out, starts)
        infos = list(struct.unpack_from(f"<{count}I", out, starts + 4))
        data_slot = next(i for i, o in enumerate(infos) if o)
        struct.pack_into("<I", out, starts + 4 + 4 * (count - 1), infos[data_slot])
    return bytes(out)


@pytest.mark.parametrize("rule", ["MACHO-CHAIN-DECODE", "MACHO-CHAIN-PAGE",
                                  "MACHO-CHAIN-ORDINAL", "MACHO-CHAIN-STARTS",
                                  "MACHO-CHAIN-EXCLUSIVE"])
def test_each_chain_rule_fires_on_its_mutation(outputs: dict[str, Path], rule: str) -> None:
    found = {v.rule for v in check_macho(_mutate(outputs["chained"].read_bytes(), rule))}
    assert rule in found, found


def test_the_dyld_reads_the_addend64_import_format(outputs: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """The imports rewritten as DYLD_CHAINED_IMPORT_ADDEND64 (16-bit ordinal, 64-bit
    addend) in a payload appended to the file: the program behaves the same."""
    data = bytearray(outputs["chained"].read_bytes())
    at, header = _payload(bytes(data))
    _, starts_off, imports_off, symbols_off, count, fmt, _ = header
    assert fmt == ch.DYLD_CHAINED_IMPORT
    img = mi.parse(bytes(data))
    assert img.chained_fixups is not None
    payload = bytes(data[at:at + img.chained_fixups[1]])
    names = payload[symbols_off:]
    table = b""
    for n in range(count):
        (word,) = struct.unpack_from("<I", payload, imports_off + 4 * n)
        ordinal, weak, name_off = word & 0xFF, word >> 8 & 1, word >> 9
        table += struct.pack("<QQ", ordinal | weak << 16 | name_off << 32, 0)
    new_imports = (imports_off + 7) & ~7
    rebuilt = bytearray(payload[:new_imports]) + table + names
    struct.pack_into("<7I", rebuilt, 0, 0, starts_off, new_imports, new_imports + len(table),
                     count, ch.DYLD_CHAINED_IMPORT_ADDEND64, 0)
    where = len(data)
    data += rebuilt
    lc = next(c for c in img.commands if c.cmd == mi.LC_DYLD_CHAINED_FIXUPS)
    struct.pack_into("<II", data, lc.offset + 8, where, len(rebuilt))
    out = tmp_path / "addend64"
    out.write_bytes(bytes(data))
    fixups = ch.read_fixups(mi.parse(bytes(data)))
    assert [i.name for i in fixups.imports] == [
        i.name for i in ch.read_fixups(img).imports]
    result = run(str(out), ["p"], bind="now")
    assert (result.stdout, result.exit_code, result.faults) == (EXPECTED, 7, [])
