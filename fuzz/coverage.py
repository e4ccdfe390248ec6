"""Hypothesis `event()`s describing what a drawn program exercises: relocation types, step
kinds and flavours, section kinds, bindings — so `--hypothesis-show-statistics` shows what a
run covered.  The same labels are counted over the whole session (`SESSION`): the properties
run their @given inside the test (to repeat it under the fuzz profile), where Hypothesis's
pytest plugin does not collect statistics, so fuzz/conftest.py prints this tally instead."""

from __future__ import annotations

from collections import Counter

from hypothesis import event

from . import libtrace
from .assemble_i386 import lowered_images_i386
from .assemble_x86 import lowered_images
from .lower_i386 import I386Choices
from .model import (
    AbsSymbol,
    AddrMask,
    AddrNonNull,
    AddrVia,
    Binding,
    Call,
    CallTable,
    CallVia,
    DataItem,
    IfOdd,
    Load,
    LoadThrough,
    Program,
    Ref,
    SelfRel,
    Store,
    walk_steps,
)
from .semantics import Resolver, linked_objects, references, resolver_of
from .strategies_reach import EDGES

# Labels read an enum member's value as `_value_`, its plain attribute: `.value` is a
# descriptor call, and a program's labels read some fifty of them.


def describe(program: Program, x86_64_relocs: bool = True) -> set[str]:
    """The coverage labels of a program (a set: each is recorded once per example).
    `x86_64_relocs`: label the relocations of its x86-64 ELF objects, which lowers and
    assembles them; the i386 and Mach-O properties never build those objects, so they pass
    False (their own describe_* labels their objects' relocations) and skip that work (about
    1 ms an example) and the counts of objects no link saw."""
    labels: set[str] = set()
    for obj in program.objects:
        labels |= {f"section:{s.kind._value_}{':comdat' if s.group else ''}" for s in obj.sections}
        labels |= {f"align:{s.align}" for s in obj.sections if s.align >= 256}
        labels |= {f"function:{f.binding._value_}" for f in obj.functions}
        labels |= {f"data:{d.binding._value_}:{'common' if d.section is None else 'section'}"
                   for d in obj.data}
        for f in obj.functions:
            labels |= {"step:if_odd" for s in f.steps if isinstance(s, IfOdd)}
            for s in walk_steps(f.steps):
                if isinstance(s, Call):
                    labels.add(f"call:{s.via._value_}")
                elif isinstance(s, CallTable):
                    labels.add(f"call_table:{s.via._value_}")
                elif isinstance(s, Load):
                    labels.add(f"load:{s.via._value_}")
                elif isinstance(s, Store):
                    labels.add(f"store:{s.via._value_}")
                elif isinstance(s, LoadThrough):
                    labels.add("load_through:pointer_with_addend")
    commons = [d.name for o in program.objects for d in o.data if d.section is None]
    defined = {d.name for o in program.objects for d in o.data if d.section is not None}
    if len(commons) != len(set(commons)):
        labels.add("data:common:merged")
    if set(commons) & defined:
        labels.add("data:common:overridden_by_definition")
    statics = [f.name for o in program.objects for f in o.functions
               if f.binding._value_ == "local"]
    if len(statics) != len(set(statics)):
        labels.add("function:local:same_name_in_two_objects")
    for _, image in lowered_images(program) if x86_64_relocs else ():
        for sec in image.sections:
            for r in sec.relocs:
                labels.add(f"reloc:{r.type}{':section' if r.section_symbol else ''}")
    if program.error is not None:
        labels.add(f"error:{program.error.value}")
    return labels | _resolution_labels(program) | _edge_labels(program)


def _resolution_labels(program: Program) -> set[str]:
    """Imports, weak and absolute symbols, COMMON merging, archive pulls."""
    labels: set[str] = set()
    linked = linked_objects(program)
    resolver = resolver_of(program, linked)
    objs = program.objects
    for i in linked:
        for f in objs[i].functions:
            for s in walk_steps(f.steps):
                if isinstance(s, Load | Store) and s.item in libtrace.IMPORTS:
                    got = s.via in (AddrVia.GOT, AddrVia.GOT_OFFSET)
                    labels.add(f"import:data:{'got' if got else 'copy'}")
                elif isinstance(s, Call) and s.target in libtrace.IMPORTS:
                    labels.add(f"import:function:{s.via._value_}")
                elif isinstance(s, AddrNonNull | AddrMask):
                    defined = resolver.find(i, s.target) is not None
                    if not defined and s.target in objs[i].weak_refs:
                        kind = "nonnull" if isinstance(s, AddrNonNull) else "bits"
                        labels.add(f"weak_undefined:{kind}:{s.via._value_}")
                    elif isinstance(s, AddrMask) and resolver.alignment(i, s.target) > 1:
                        labels.add("address:alignment_observed")
        labels |= {"import:function:pointer_in_data" for d in objs[i].data for f in d.fields
                   if isinstance(f, Ref) and f.target in libtrace.IMPORTS}
        if objs[i].absolutes:
            labels.add("symbol:absolute")
    names = [(f.name, f.binding) for i in linked for f in objs[i].functions]
    if any((n, Binding.WEAK) in names and (n, Binding.GLOBAL) in names for n, _ in names):
        labels.add("symbol:weak_overridden_by_strong")
    commons: dict[str, list[DataItem]] = {}
    for i in linked:
        for d in objs[i].data:
            if d.section is None:
                commons.setdefault(d.name, []).append(d)
    weak_data = {d.name for i in linked for d in objs[i].data
                 if d.section is not None and d.binding is Binding.WEAK}
    if weak_data & set(commons):
        labels.add("symbol:common_beats_weak_definition")
    for decls in commons.values():
        if len({d.size for d in decls}) > 1:
            labels.add("common:sizes_differ")
        if len({d.align for d in decls}) > 1:
            labels.add("common:alignments_differ")
        labels |= {f"common:align:{d.align}" for d in decls if d.align >= 8}
    if any(d.size > 4096 and (d.section is None or any(
            s.name == d.section and s.kind._value_ == "bss" for s in objs[i].sections))
           for i in linked for d in objs[i].data):
        labels.add("zero_fill:more_than_a_page")
    members = [m for archive in program.archives for m in archive]
    if members:
        labels.add("archive")
        labels |= {"archive:two" for _ in program.archives[1:2]}
        if program.grouped and len(program.archives) > 1:
            labels.add("archive:group")
        pulled = [m for m in members if m in linked]
        if pulled:
            labels.add("archive:member_pulled_by_strong_reference")
        needed_by_member = set().union(*(references(objs[m]) for m in pulled))
        member_defs = {f.name for m in pulled for f in objs[m].functions}
        if needed_by_member & member_defs:
            labels.add("archive:member_pulls_member")
        plain_commons = {d.name for i in linked if i not in members for d in objs[i].data
                         if d.section is None}
        if any(d.section is not None and d.name in plain_commons
               for m in pulled for d in objs[m].data):
            labels.add("archive:member_pulled_to_initialise_a_common")
        weak_refs = {n for i in linked for n in objs[i].weak_refs}
        if any(weak_refs & {f.name for f in objs[m].functions} for m in members
               if m not in linked):
            labels.add("archive:member_not_pulled_by_weak_reference")
    return labels


def _edge_labels(program: Program) -> set[str]:
    """`edge:<reloc>:max|min` for a field whose value is its range's edge (`past_max|min`
    for one just past it, in error models)."""
    labels: set[str] = set()
    resolver = resolver_of(program)
    for i, obj in enumerate(program.objects):
        for d in obj.data:
            offset = 0
            for f in d.fields:
                reloc, value = _field_value(resolver, i, f, offset)
                offset += f.width
                if reloc not in EDGES:
                    continue
                _, _, _, low, high = EDGES[reloc]
                for what, edge in (("max", high), ("min", low)):
                    if value == edge:
                        labels.add(f"edge:{reloc}:{what}")
                if value in (high + 1, low - 1):
                    labels.add(f"edge:{reloc}:past_{'max' if value > high else 'min'}")
    return labels


def _field_value(resolver: Resolver, owner: int, f: object, offset: int) -> tuple[str, int]:
    """(relocation, the value the linker computes) of a data field, when the model knows it."""
    if isinstance(f, SelfRel):
        return f"R_X86_64_PC{8 * f.width}", f.addend - offset
    if isinstance(f, Ref):
        found = resolver.find(owner, f.target)
        if found is not None and isinstance(found.definition, AbsSymbol):
            value = found.definition.value + f.addend
            if value >= 1 << 63:
                value -= 1 << 64
            return ("R_X86_64_32S" if f.signed else f"R_X86_64_{8 * f.width}"), value
    return "", 0


def describe_i386(program: Program, no_base_objects: frozenset[int]) -> set[str]:
    """The i386 labels: relocation types of our ELF32 objects, and the no-base GOT forms."""
    labels = {"i386"}
    for _, image in lowered_images_i386(program, I386Choices(no_base_objects)):
        for sec in image.sections:
            labels |= {f"i386:reloc:{r.type}{':section' if r.section_symbol else ''}"
                       for r in sec.relocs}
    uses_got = any(isinstance(s, Call) and s.via is CallVia.GOT_INDIRECT
                   or isinstance(s, Load | Store | CallTable) and s.via is AddrVia.GOT
                   for i in no_base_objects for f in program.objects[i].functions
                   if not any(sec.group for sec in program.objects[i].sections
                              if sec.name == f.section)  # COMDAT code stays based
                   for s in walk_steps(f.steps))
    if uses_got:
        labels.add("i386:got32x:no_base")
    absolute = {a.name: a.value for o in program.objects for a in o.absolutes}
    if any(isinstance(f, Ref) and f.width == 2 and absolute.get(f.target, 0) + f.addend > 0x7FFF
           for o in program.objects for d in o.data for f in d.fields):
        labels.add("i386:reloc:R_386_16:above_signed_limit")
    if program.error is not None:
        labels.add(f"i386:error:{program.error.value}")
    return labels


SESSION: Counter[str] = Counter()


def record(program: Program, extra: set[str] | frozenset[str] = frozenset(),
           x86_64_relocs: bool = True) -> None:
    """Count `program`'s labels (plus `extra`, e.g. describe_i386's) in the session tally;
    `x86_64_relocs` as for describe."""
    record_labels(describe(program, x86_64_relocs) | extra)


def record_labels(labels: set[str]) -> None:
    """Count one example and its labels in the session tally, and show each label to
    Hypothesis as an event (for the families whose cases are not a `Program`)."""
    SESSION.update(labels)
    SESSION["examples"] += 1
    for label in sorted(labels):
        event(label)


def describe_macho(program: Program, variant: int) -> set[str]:
    """The Mach-O x86-64 labels of a case (already in the Mach-O subset): relocation types,
    lengths and forms (extern or against a section) of our MH_OBJECT files, and pointers in
    data with addends (binds or external relocations; rebases or local relocations)."""
    from .macho.dwarf import debug_labels
    from .macho.pipeline import debug_info_form, object_images
    labels = {"macho"}
    for i, (_, image) in enumerate(object_images(program, variant)):
        for sec in image.sections:
            labels |= {f"macho:reloc:{r.type}:{r.length}:{'section' if r.section else 'extern'}"
                       for r in sec.relocs}
            labels |= {f"macho:reloc:{r.type}" for r in sec.relocs}
        labels |= {"macho:weak_ref" for s in image.symbols if s.weak_ref}
        labels |= {"macho:private_extern" for s in image.symbols if s.private_extern}
        labels |= {"macho:common" for s in image.symbols if s.kind == "common"}
        labels |= debug_labels("macho", debug_info_form(variant, i))
    for obj in program.objects:
        for d in obj.data:
            for f in d.fields:
                if isinstance(f, Ref) and f.width == 8 and f.addend:
                    where = "import" if f.target in libtrace.IMPORTS else "image"
                    labels.add(f"macho:pointer:{where}:with_addend")
    return labels
