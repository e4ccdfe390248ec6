"""Mach-O static archives among a drawn program's inputs (x86_64 and i386).

A drawn program (already in the target's Mach-O subset) gets two extra objects and some of
its own objects moved into one BSD archive (`ar` with a `__.SYMDEF SORTED` table, written
here, as cctools' ranlib lays it out and ld64 reads it), linked after the plain objects:

- a chain: `lh_ar_t1` (called from the program's main, so a strong reference pulls its member)
  calls `lh_ar_t0`, defined only in another member (a pulled member pulls another), which
  calls an import when the program links a library (the call shows in the trace);
- a decoy member defining a second strong copy of a function some plain object already
  defines, and `lh_ar_unused`, which nothing references: pulling it would be a duplicate
  definition, and its symbols must not reach the output;
- drawn objects (never the first, which holds the entry) whose global definitions no other
  object shares and which define no COMMON or absolute symbol.

The archive is written by `write_archive` (`__.SYMDEF SORTED`, cctools' layout) or, for half
the draws, by `llvm-ar-14 rcs` (for Mach-O members its Darwin layout: an unsorted
`__.SYMDEF`, its own name padding): two writers, one model.  `CODE_ONLY` is a
program of code alone, whose classic link once crashed (linker/macho/classic_relocs.py).

The model says what a link takes, by ld64's rules (linker/macho/load.py follows them):
every plain object, then, until nothing changes, every member that defines a name some
taken object references and no taken object defines (all archives are one group; ld64 lets
weak references pull too, unlike GNU ld, so the ELF model's `linked_objects` does not
apply).  `fuzz.semantics.outcome` of the taken objects alone is what the program must do.
"""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st

from .. import libtrace
from ..model import Binding, Call, CallVia, Function, ObjectModel, Program, Section, SectionKind
from ..semantics import definitions, references
from .assemble import WEAK_REF_PREFIX
from .strategies import macho_cases
from .strategies_i386 import macho_i386_cases
from .subset import macho_subset

# the chain's head sorts after its tail: a single pass over a sorted table pulls only the head
CHAIN_A, CHAIN_B, UNUSED = "lh_ar_t1", "lh_ar_t0", "lh_ar_unused"
WEAK_HEAD = WEAK_REF_PREFIX + "t1"  # the head, referenced weakly (sorts after the tail too)
ARCHIVE_NAME = "liblh.a"
SYMDEF = b"__.SYMDEF SORTED"


@dataclass(frozen=True)
class ArchiveCase:
    program: Program  # the target's subset; `archives` holds the one archive's members
    variant: int
    llvm_ar: bool = False  # written by llvm-ar-14, else by write_archive

    @property
    def members(self) -> tuple[int, ...]:
        return self.program.archives[0]


def _locals(obj: ObjectModel) -> set[str]:
    return {d.name for d in obj.functions if d.binding is Binding.LOCAL} | {
        d.name for d in obj.data if d.binding is Binding.LOCAL}


def macho_linked_objects(program: Program) -> list[int]:
    """The objects ld64's rules take, plain ones first, then members in the order pulled."""
    members = [m for archive in program.archives for m in archive]
    objs = program.objects
    linked = [i for i in range(len(objs)) if i not in members]
    pulled = True
    while pulled:
        pulled = False
        defined = set().union(*(definitions(objs[i]) for i in linked))
        needed = {program.main}.union(*(references(objs[i]) - _locals(objs[i])
                                        for i in linked)) - defined
        for m in members:
            if m not in linked and definitions(objs[m]) & needed:
                linked.append(m)
                pulled = True
                break  # recompute what is still undefined
    return linked


def linked_program(program: Program) -> Program:
    """The program as linked: the taken objects only (plain first, as the link orders them)."""
    taken = macho_linked_objects(program)
    return replace(program, objects=tuple(program.objects[i] for i in taken), archives=())


def _archivable(program: Program, i: int) -> bool:
    obj = program.objects[i]
    others = set().union(*(definitions(o) for n, o in enumerate(program.objects) if n != i))
    return (i > 0 and not obj.absolutes and all(d.section is not None for d in obj.data)
            and not definitions(obj) & others and bool(definitions(obj)))


def _text_object(name: str, functions: tuple[Function, ...]) -> ObjectModel:
    return ObjectModel(name, (Section(".text", SectionKind.TEXT, 16),), functions=functions)


@dataclass(frozen=True)
class ArchiveDraw:
    """The drawn choices of `archive_program`."""

    archived: tuple[int, ...]  # indices of the program's archivable objects to archive
    via: CallVia
    seeds: tuple[int, int]
    import_call: tuple[str, tuple[int, ...]] | None  # lh_ar_b's call, if a library links
    duplicate: str | None  # the decoy's copy of a plain object's strong function
    order: tuple[int, ...]  # a permutation of range(members): the archive's member order
    weak_head: bool = False  # the main's reference to the chain's head is N_WEAK_REF


def archivable(program: Program) -> list[int]:
    return [i for i in range(len(program.objects)) if _archivable(program, i)]


def archive_program(program: Program, d: ArchiveDraw) -> Program:
    """`program` with the chain, the decoy and the objects `d.archived` in one archive."""
    objs = list(program.objects)
    head = WEAK_HEAD if d.weak_head else CHAIN_A
    main_at = next(n for n, o in enumerate(objs)
                   if any(f.name == program.main for f in o.functions))
    objs[main_at] = replace(objs[main_at], functions=tuple(
        replace(f, steps=(*f.steps, Call(head, d.via))) if f.name == program.main else f
        for f in objs[main_at].functions))
    tail = () if d.import_call is None else (Call(d.import_call[0], d.via, d.import_call[1]),)
    decoy = [Function(UNUSED, Binding.GLOBAL, ".text", 16, 7, ())]
    if d.duplicate is not None:
        decoy.append(Function(d.duplicate, Binding.GLOBAL, ".text", 16, 9, ()))
    first = len(objs)
    objs += [
        _text_object("lh_ar0", (Function(head, Binding.GLOBAL, ".text", 16, d.seeds[0],
                                         (Call(CHAIN_B, d.via),)),)),
        _text_object("lh_ar1", (Function(CHAIN_B, Binding.GLOBAL, ".text", 16, d.seeds[1],
                                         tail),)),
        _text_object("lh_ar2", tuple(decoy)),
    ]
    members = [*d.archived, first, first + 1, first + 2]
    return replace(program, objects=tuple(objs),
                   archives=(tuple(members[k] for k in d.order),), grouped=True)


def _strong_plain(program: Program, archived: tuple[int, ...]) -> list[str]:
    return sorted({f.name for n, o in enumerate(program.objects) if n not in archived
                   for f in o.functions if f.binding is Binding.GLOBAL})


def _imports(program: Program) -> list[str]:
    return sorted(i.name for i in libtrace.IMPORTS.values()
                  if i.is_function and i.library in program.libraries)


def every_member(program: Program, weak_head: bool = False) -> Program:
    """The sample's form: every archivable object archived, the first import called, the
    first strong plain function duplicated by the decoy, members in reverse order (the
    chain's tail before its head: one pass over the table in member order pulls only the head)."""
    archived = tuple(archivable(program))
    imports, strong = _imports(program), _strong_plain(program, archived)
    return archive_program(program, ArchiveDraw(
        archived, CallVia.DIRECT, (3, 5),
        (imports[0], (1, 2, 3, 4, 5)) if imports else None,
        strong[0] if strong else None, tuple(reversed(range(len(archived) + 3))),
        weak_head=weak_head))


@st.composite
def with_archive(draw: st.DrawFn, program: Program) -> Program:
    """`program` with the chain, the decoy and some drawn objects in one archive."""
    archived = tuple(i for i in archivable(program) if draw(st.booleans()))
    imports, strong = _imports(program), _strong_plain(program, archived)
    call = None
    if imports:
        call = (draw(st.sampled_from(imports)),
                tuple(draw(st.integers(0, 0xFFFFFFFF)) for _ in range(5)))
    return archive_program(program, ArchiveDraw(
        archived, draw(st.sampled_from((CallVia.DIRECT, CallVia.PLT))),
        (draw(st.integers(0, 255)), draw(st.integers(0, 255))), call,
        draw(st.sampled_from(strong)) if strong else None,
        tuple(draw(st.permutations(range(len(archived) + 3)))), draw(st.booleans())))


def x86_64_archive_cases() -> st.SearchStrategy[ArchiveCase]:
    return macho_cases().flatmap(
        lambda c: st.tuples(with_archive(c.program), st.booleans()).map(
            lambda pl: ArchiveCase(pl[0], c.variant, pl[1])))


def i386_archive_cases() -> st.SearchStrategy[ArchiveCase]:
    return macho_i386_cases().flatmap(
        lambda c: st.tuples(with_archive(c.program), st.booleans()).map(
            lambda pl: ArchiveCase(pl[0], c.variant, pl[1])))


def sample_case(program: Program, weak_head: bool = False, llvm_ar: bool = False
                ) -> ArchiveCase:
    """The sample with every archivable object archived; with `weak_head`, variant 1 (the
    archive before the objects), else variant 0 (after them)."""
    return ArchiveCase(every_member(program, weak_head), int(weak_head), llvm_ar)


def _code_object(name: str, function: str, callee: str | None, seed: int) -> ObjectModel:
    steps = (Call(callee, CallVia.DIRECT),) if callee else ()
    return _text_object(name, (Function(function, Binding.GLOBAL, ".text", 16, seed, steps),))


# lh_main (o0) calls lh_f2 (o2), which calls lh_f1 (o1): code and nothing else, no library
CODE_ONLY = macho_subset(Program(
    objects=(_code_object("o0", "lh_main", "lh_f2", 1), _code_object("o1", "lh_f1", None, 2),
             _code_object("o2", "lh_f2", "lh_f1", 3)),
    libraries=()))


def archive_first(case: ArchiveCase) -> bool:
    """Whether linkharness gets the archive before the objects (half the variants): ld64
    loads every object first wherever the archive sits, so the model is the same."""
    return case.variant % 2 == 1


def describe_archive(case: ArchiveCase, prefix: str) -> set[str]:
    """`prefix`:archive:* labels: what the model says the link pulls and leaves."""
    program = case.program
    taken = macho_linked_objects(program)
    labels = {f"{prefix}:archive"}
    if case.llvm_ar:
        labels.add(f"{prefix}:archive:llvm_ar")
    if archive_first(case):
        labels.add(f"{prefix}:archive:before_objects")
    pulled = [m for m in case.members if m in taken]
    left = [m for m in case.members if m not in taken]
    if pulled:
        labels.add(f"{prefix}:archive:pulled")
    if any(CHAIN_B in definitions(program.objects[m]) for m in pulled):
        labels.add(f"{prefix}:archive:member_pulls_member")
    if left:
        labels.add(f"{prefix}:archive:not_pulled")
    if any(len(definitions(program.objects[m])) > 1 for m in left):
        labels.add(f"{prefix}:archive:decoy_duplicate_left")
    if any(WEAK_HEAD in definitions(program.objects[m]) for m in pulled):
        labels.add(f"{prefix}:archive:pulled_by_weak_ref")
    if len(pulled) > 2:
        labels.add(f"{prefix}:archive:drawn_member_pulled")
    return labels


def write_archive(path: Path, members: list[tuple[str, bytes, set[str]]]) -> Path:
    """A BSD archive of `members` (file name, contents, defined external symbol names):
    `__.SYMDEF SORTED` first (ranlib entries sorted by name, each the offset of its
    member's header), then the members, each named `#1/LEN` with the name after the header,
    padded so that every object starts 8-aligned, as cctools' ar writes them."""
    entries = sorted((name, n) for n, (_, _, names) in enumerate(members) for name in names)
    strtab = bytearray()
    strx: list[int] = []
    for name, _ in entries:
        strx.append(len(strtab))
        strtab += name.encode() + b"\0"
    strtab += bytes(-len(strtab) % 8)

    def named_header(name: bytes, body_size: int, at: int) -> tuple[bytes, bytes]:
        padded = name + bytes(-(at + 60 + len(name)) % 8)
        header = (f"#1/{len(padded)}".ljust(16) + "0".ljust(12) + "0".ljust(6) + "0".ljust(6)
                  + "100644".ljust(8) + str(len(padded) + body_size).ljust(10) + "`\n")
        return header.encode(), padded

    symdef_size = 4 + 8 * len(entries) + 4 + len(strtab)
    head, padded = named_header(SYMDEF, symdef_size, 8)
    offset = 8 + len(head) + len(padded) + symdef_size
    offset += offset & 1
    blobs: list[bytes] = []
    starts: list[int] = []
    for name, data, _ in members:
        starts.append(offset)
        mhead, mname = named_header(name.encode(), len(data), offset)
        blob = mhead + mname + data + (b"\n" if (len(mname) + len(data)) & 1 else b"")
        blobs.append(blob)
        offset += len(blob)
    table = struct.pack("<I", 8 * len(entries)) + b"".join(
        struct.pack("<II", x, starts[n]) for x, (_, n) in zip(strx, entries, strict=True))
    symdef = table + struct.pack("<I", len(strtab)) + bytes(strtab)
    out = b"!<arch>\n" + head + padded + symdef + (b"\n" if symdef_size & 1 else b"")
    path.write_bytes(out + b"".join(blobs))
    return path


def archive_inputs(case: ArchiveCase, objects: list[Path], directory: Path
                   ) -> tuple[list[Path], Path]:
    """(the plain objects, the archive of the members) from the case's written objects."""
    members = set(case.members)
    plain = [p for n, p in enumerate(objects) if n not in members]
    if case.llvm_ar:
        archive = directory / ARCHIVE_NAME
        archive.unlink(missing_ok=True)
        made = subprocess.run(["llvm-ar-14", "rcs", str(archive),
                               *(str(objects[m]) for m in case.members)],
                              check=False, capture_output=True, text=True)
        if made.returncode:
            raise RuntimeError(f"llvm-ar-14 failed: {made.stderr.strip()}")
        return plain, archive
    archive = write_archive(directory / ARCHIVE_NAME, [
        (objects[m].name, objects[m].read_bytes(),
         {"_" + name for name in definitions(case.program.objects[m])})
        for m in case.members])
    return plain, archive


def taken_paths(case: ArchiveCase, objects: list[Path]) -> list[Path]:
    """The written objects of what the link takes, in the order it takes them."""
    return [objects[i] for i in macho_linked_objects(case.program)]


def left_symbols(case: ArchiveCase) -> set[str]:
    """The symbol names (with Darwin's `_`) only members left in the archive define."""
    taken = macho_linked_objects(case.program)
    kept = set().union(*(definitions(case.program.objects[i]) for i in taken))
    left = set().union(*(definitions(case.program.objects[m]) for m in case.members
                         if m not in taken))
    return {"_" + n for n in left - kept}
