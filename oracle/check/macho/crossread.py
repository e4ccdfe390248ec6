"""A second reader: macholib decodes the same load commands independently, and must agree
with the reading the other rules (and the emulated dyld) rely on.  Disagreement means one
of the two readers is wrong about the file, so neither verdict can be trusted.  Also the
one rule about unknown commands: dyld refuses a command it does not know only when the
command carries LC_REQ_DYLD."""

from __future__ import annotations

import io
from collections.abc import Iterator

from macholib.mach_o import LC_REGISTRY, LC_SEGMENT, LC_SEGMENT_64
from macholib.MachO import MachO

from oracle.check.macho.registry import DYLD_LOAD_COMMANDS, Finding, MachOFile, rule

TOPIC = "header"
LC_REQ_DYLD = 0x80000000


def macholib_read(data: bytes) -> MachO:
    """macholib's MachO over bytes (its constructor wants a file name)."""
    mo = MachO.__new__(MachO)
    mo.graphident = mo.filename = "<bytes>"
    mo.loader_path = ""
    mo.fat = None
    mo.headers = []
    mo.allow_unknown_load_commands = True
    mo.load(io.BytesIO(data))
    return mo


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


@rule("MACHO-SECOND-READER", TOPIC,
      "macholib reads the same load commands, segments and sections as the checker does",
      "macholib")
def second_reader(f: MachOFile) -> Iterator[Finding]:
    img = f.img
    try:
        header = macholib_read(f.data).headers[0]
    except Exception as err:  # noqa: BLE001 - any failure of the other reader is the finding
        yield "macholib", f"cannot read the file: {type(err).__name__}: {err}"
        return
    if len(header.commands) != len(img.commands):
        yield "load commands", (f"macholib reads {len(header.commands)}, the checker "
                                f"{len(img.commands)}")
        return
    segments = iter(img.segments)
    for (lc, cmd, data), mine in zip(header.commands, img.commands, strict=True):
        if (lc.cmd, lc.cmdsize) != (mine.cmd, mine.size):
            yield f"load command {mine.index}", "macholib reads another command or size"
            continue
        if lc.cmd not in (LC_SEGMENT, LC_SEGMENT_64):
            continue
        seg = next(segments)
        theirs = (_name(cmd.segname), cmd.vmaddr, cmd.vmsize, cmd.fileoff, cmd.filesize,
                  [(_name(s.sectname), s.addr, s.size, s.offset) for s in data])
        ours = (seg.name, seg.vmaddr, seg.vmsize, seg.fileoff, seg.filesize,
                [(s.sectname, s.addr, s.size, s.offset) for s in seg.sections])
        if theirs != ours:
            yield seg.name, f"macholib reads {theirs[:5]}, the checker {ours[:5]}"


@rule("MACHO-LC-KNOWN", TOPIC,
      "a load command dyld does not know must not carry LC_REQ_DYLD", DYLD_LOAD_COMMANDS)
def known_commands(f: MachOFile) -> Iterator[Finding]:
    for lc in f.img.commands:
        if lc.cmd & LC_REQ_DYLD and lc.cmd not in LC_REGISTRY:
            yield f"load command {lc.index}", f"unknown command {lc.cmd:#x} requires dyld"
