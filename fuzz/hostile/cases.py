"""One hostile case: a mutated input put through every entry point that reads it.

A link target's mutation replaces one input of a valid link: linker.link must keep its
rules, and when it succeeds the output goes to oracle.check and oracle.check_fields (with
the mutated inputs: the field oracle reads them too).  An executable target's mutation goes
to oracle.check, oracle.check_fields (against the valid inputs) and oracle.run.
"""

from __future__ import annotations

import os
import re
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import command_lines
from .guest_code import GUEST_CODE, GUEST_CODE_WRITTEN, draw_code, self_writing, static_executable
from .havoc import mutate_havoc
from .mutate import Picker, choose, mutate
from .rules import check_rules, fields_rules, link_rules, run_rules, write_case
from .seeds import ExeTarget, LinkTarget, Targets
from .semantic import mutate_semantic, split_family


def mutated_link_case(pick: Picker, target: LinkTarget, others: Targets, family: str = "bytes"
                      ) -> tuple[int, bytes, list[str]]:
    """Which input (index into target.inputs), its mutated bytes, the mutations made."""
    k = pick.integer(0, len(target.mutable) - 1)
    if family == "semantic":
        data, done = mutate_semantic(pick, target.seeds[k])
    elif family == "havoc":
        data, done = mutate_havoc(pick, target.seeds[k], others.all_seeds(target.deep))
    else:
        data, done = mutate(pick, target.seeds[k], others.all_seeds(target.deep))
    return target.mutable[k], data, done


def link_arguments(target: LinkTarget, inputs: list[Path]
                   ) -> tuple[list[Path], dict[str, object]]:
    """linker.link's file operands and options for `inputs` (the target's, one replaced):
    an input the target passes through an option (a version script) goes there."""
    options = dict(target.options)
    for i, option in target.as_option.items():
        options[option] = [*options.get(option, []), inputs[i]]
    return [p for i, p in enumerate(inputs) if i not in target.as_option], options


def link_case(target: LinkTarget, index: int, data: bytes, work: Path) -> list[str]:
    """The rules broken by linking `target` with input `index` replaced by `data`."""
    original = target.inputs[index]
    mutated = write_case(work / "in", original.name, data)
    inputs = [mutated if i == index else p for i, p in enumerate(target.inputs)]
    names = [p.name for p in inputs]
    operands, options = link_arguments(target, inputs)
    try:
        output, broken = link_rules(operands, options, work / "out", names)
        if output is not None:
            objects = [p for p in operands if p.suffix == ".o"]
            broken += check_rules(output)
            broken += fields_rules(output, objects)
        return broken
    finally:
        shutil.rmtree(work / "out", ignore_errors=True)
        shutil.rmtree(work / "in", ignore_errors=True)


def exe_case(target: ExeTarget, data: bytes, work: Path, bind: str) -> list[str]:
    """The rules broken by the oracle's entry points on a mutated executable (or on a
    mutated library, which the target's unmutated host executable, copied beside it so
    that the library is found there first, loads)."""
    exe = write_case(work / "exe", target.exe.name, data)
    program = exe
    if target.host is not None:
        program = work / "exe" / target.host.name
        shutil.copy(target.host, program)
    try:
        return [*check_rules(exe), *fields_rules(exe, target.objects),
                *run_rules(program, [exe.parent, *target.library_path], bind,
                           seed=zlib.crc32(data))]
    finally:
        shutil.rmtree(work / "exe", ignore_errors=True)


def guest_case(data: bytes, work: Path, bind: str) -> list[str]:
    """The rules broken by the checker and the emulator on a hostile guest-code program
    (fuzz.hostile.guest_code: no linker made it, so the field oracle has nothing to do)."""
    exe = write_case(work / "guest", "guest", data)
    try:
        return [*check_rules(exe), *run_rules(exe, [], bind, seed=zlib.crc32(data))]
    finally:
        shutil.rmtree(work / "guest", ignore_errors=True)


@dataclass(frozen=True)
class Drawn:
    """A drawn case, not yet run: the target, the mutated input's name and bytes, the
    mutations made, and how it runs (`index`: the input of a link target it replaces;
    `bind`: an executable target's binding mode)."""

    target: str
    file_name: str
    data: bytes
    done: list[str]
    index: int = -1
    bind: str = "lazy"
    number: int = -1  # a campaign's case number (fuzz.hostile.supervise), when it has one


def draw_case(pick: Picker, name: str, targets: Targets) -> Drawn:
    """Draw one case of target `name` (the same picks give the same case, so a campaign
    can draw a case again to keep the input of a worker that hung on it).  `name` may
    carry a family, `T@semantic` (fuzz.hostile.semantic), `T@options` or `T@havoc`."""
    base, family = split_family(name)
    if base == GUEST_CODE:
        bits = choose(pick, [64, 32])
        code = draw_code(pick, bits)
        return Drawn(name, "guest", static_executable(code, bits),
                     [f"{bits}-bit code of {len(code)} bytes at the entry"],
                     bind=choose(pick, ["lazy", "now"]))
    if base == GUEST_CODE_WRITTEN:
        bits = choose(pick, [64, 32])
        code, key = draw_code(pick, bits), pick.integer(1, 255)
        return Drawn(name, "guest", static_executable(self_writing(code, bits, key), bits),
                     [f"{bits}-bit code of {len(code)} bytes written at run time"],
                     bind=choose(pick, ["lazy", "now"]))
    if family == "options":
        macho = targets.links[base].options.get("target", "").startswith("macho")
        return Drawn(name, command_lines.FILE_NAME,
                     command_lines.encode(command_lines.draw_command_line(pick, macho)), [])
    if base in targets.links:
        link_target = targets.links[base]
        index, data, done = mutated_link_case(pick, link_target, targets, family)
        return Drawn(name, link_target.inputs[index].name, data, done, index=index)
    exe_target = targets.exes[base]
    if family == "semantic":
        data, done = mutate_semantic(pick, exe_target.seed)
    elif family == "havoc":
        data, done = mutate_havoc(pick, exe_target.seed, targets.all_seeds(exe_target.deep))
    else:
        data, done = mutate(pick, exe_target.seed, targets.all_seeds(exe_target.deep))
    return Drawn(name, exe_target.exe.name, data, done, bind=choose(pick, ["lazy", "now"]))


def run_drawn(drawn: Drawn, targets: Targets, work: Path) -> list[str]:
    """The rules a drawn case breaks."""
    base, family = split_family(drawn.target)
    if base in (GUEST_CODE, GUEST_CODE_WRITTEN):
        return guest_case(drawn.data, work, drawn.bind)
    if family == "options":
        return command_lines.options_case(targets.links[base], drawn.data, work)
    if base in targets.links:
        return link_case(targets.links[base], drawn.index, drawn.data, work)
    return exe_case(targets.exes[base], drawn.data, work, drawn.bind)


def any_case(pick: Picker, name: str, targets: Targets, work: Path
             ) -> tuple[str, bytes, list[str], list[str]]:
    """Draw and run one case of target `name`: (file name, bytes, mutations, rules broken)."""
    drawn = draw_case(pick, name, targets)
    return drawn.file_name, drawn.data, drawn.done, run_drawn(drawn, targets, work)


def run_kept(targets: Targets, name: str, mutated: Path, work: Path) -> list[str]:
    """The rules broken by a kept case: `mutated` replaces the input of its name."""
    data = mutated.read_bytes()
    name, family = split_family(name)
    if name in (GUEST_CODE, GUEST_CODE_WRITTEN):
        return guest_case(data, work, "lazy") + guest_case(data, work, "now")
    if family == "options":
        return command_lines.options_case(targets.links[name], data, work)
    if name in targets.exes:
        return exe_case(targets.exes[name], data, work, "lazy") + exe_case(
            targets.exes[name], data, work, "now")
    target = targets.links[name]
    index = [p.name for p in target.inputs].index(mutated.name)
    return link_case(target, index, with_current_seeds(data, target), work)


def with_current_seeds(data: bytes, target: LinkTarget) -> bytes:
    """A kept text input (a linker script) names the seed files of the campaign that found
    it, under a temporary directory long gone: those names are moved under this run's
    seeds, so the case meets the rule it broke and not a missing file."""
    if b"\0" in data or not target.inputs:  # not text: an object, archive or Mach-O file
        return data
    root = Path(os.path.commonpath([p.parent for p in target.inputs]))
    if root == Path(root.anchor):  # inputs from all over the host (compiler-made targets):
        return data  # no seeds directory of the project's to move names under
    subdirs = b"|".join(re.escape(d.name.encode()) for d in root.iterdir() if d.is_dir())
    if not subdirs:
        return data
    pattern = re.compile(rb"/[^\s()\"']*?/(?=(?:" + subdirs + rb")/)")
    return pattern.sub(lambda _: bytes(root) + b"/", data)
