"""The inventory's rows (fuzz/inventory.py): every feature README.md says the linker has,
per target, with the coverage labels (fuzz.coverage and each generator's `describe`) that
show a generated example exercised it.  A row with no labels is a hole: `hole` says what no
generator draws yet."""

from __future__ import annotations

from dataclasses import dataclass

ELF64 = "elf64-x86-64"
I386 = "elf32-i386"
MACHO64 = "macho-x86_64"
MACHO32 = "macho-i386"
TARGETS = (ELF64, I386, MACHO64, MACHO32)


@dataclass(frozen=True)
class Row:
    target: str
    family: str
    feature: str
    labels: tuple[str, ...] = ()  # all must be drawn; () = a hole
    hole: str = ""  # what no generator draws yet
    known_bug: str = ""  # a confirmed linker bug the row's generator is kept away from

    @property
    def key(self) -> str:
        return f"{self.target}: {self.feature}"


def _r(target: str, family: str, feature: str, *labels: str) -> Row:
    return Row(target, family, feature, labels)


def _hole(target: str, family: str, feature: str, why: str) -> Row:
    return Row(target, family, feature, (), why)


_X64_RELOCS = ("PC32", "PLT32", "GOTPCREL", "GOTPCRELX", "REX_GOTPCRELX", "GOT32", "GOTPC32",
               "GOTOFF64", "64", "32", "32S", "16", "8", "PC8", "PC16", "PC64")
_X64_SECTION_FORMS = ("PC32", "64", "32", "32S", "GOTOFF64")
_X64_EDGES = ("8", "16", "32", "32S", "PC8", "PC16", "PC32")
_I386_RELOCS = ("PC32", "PLT32", "GOT32", "GOT32X", "GOTPC", "GOTOFF", "32", "16", "8",
                "PC16", "PC8")
_MACHO_RELOCS = ("BRANCH:4:extern", "GOT_LOAD:4:extern", "GOT:4:extern", "SIGNED:4:extern",
                 "SIGNED:4:section", "SUBTRACTOR:4:extern", "SUBTRACTOR:8:extern",
                 "UNSIGNED:8:extern", "UNSIGNED:4:extern")


def _elf64_rows() -> list[Row]:
    t = ELF64
    rows = [_r(t, "relocations", f"R_X86_64_{r} against a symbol", f"reloc:R_X86_64_{r}")
            for r in _X64_RELOCS]
    rows += [_r(t, "relocations", f"R_X86_64_{r} against a section symbol (static target)",
                f"reloc:R_X86_64_{r}:section") for r in _X64_SECTION_FORMS]
    for r in _X64_EDGES:
        rows += [_r(t, "range edges", f"R_X86_64_{r}: largest and smallest values that fit",
                    f"edge:R_X86_64_{r}:max", f"edge:R_X86_64_{r}:min"),
                 _r(t, "range edges", f"R_X86_64_{r}: first values past the range (overflow "
                    "error)", f"edge:R_X86_64_{r}:past_max", f"edge:R_X86_64_{r}:past_min")]
    rows += [
        _r(t, "errors", "undefined symbol (named, no output)", "error:undefined"),
        _r(t, "errors", "duplicate strong definition", "error:duplicate"),
        _r(t, "errors", "relocation overflow", "error:overflow"),
        _r(t, "symbol resolution", "static functions of one name in two objects",
           "function:local:same_name_in_two_objects"),
        _r(t, "symbol resolution", "weak function definition", "function:weak"),
        _r(t, "symbol resolution", "weak definition overridden by a strong one",
           "symbol:weak_overridden_by_strong"),
        _r(t, "symbol resolution", "weak data definition", "data:weak:section"),
        _r(t, "symbol resolution", "absolute symbols", "symbol:absolute"),
        _r(t, "symbol resolution", "undefined weak = 0, `if (&f)` (pc-relative, absolute, GOT)",
           "weak_undefined:nonnull:pc_rel", "weak_undefined:nonnull:abs_u32",
           "weak_undefined:nonnull:abs_s32", "weak_undefined:nonnull:got"),
        _r(t, "symbol resolution", "undefined weak: every address bit 0 (GOT-base forms)",
           "weak_undefined:bits:got_base", "weak_undefined:bits:got_offset"),
        _r(t, "symbol resolution", "hidden symbols (one name, one definition per module)",
           "modules:func-hidden", "modules:data-hidden", "modules:tls-hidden"),
        _r(t, "symbol resolution", "hidden symbols (GOT, PLT, direct; local in .symtab, not "
           "exported with --export-dynamic)", "hidden:function", "hidden:data", "hidden:got",
           "hidden:plt", "hidden:direct", "hidden:export_dynamic"),
        _r(t, "symbol resolution", "a hidden definition of a name a library exports binds "
           "locally", "hidden:shadows_library_export"),
        _r(t, "symbol resolution", "a COMMON beats a weak definition",
           "symbol:common_beats_weak_definition"),
        _r(t, "COMMON", "COMMON merged across objects", "data:common:merged"),
        _r(t, "COMMON", "COMMON declarations of different sizes (largest wins)",
           "common:sizes_differ"),
        _r(t, "COMMON", "COMMON declarations of different alignments (strictest wins)",
           "common:alignments_differ", "common:align:64", "address:alignment_observed"),
        _r(t, "COMMON", "COMMON overridden by a sized definition",
           "data:common:overridden_by_definition"),
        _r(t, "archives", "member pulled by a strong reference",
           "archive:member_pulled_by_strong_reference"),
        _r(t, "archives", "member not pulled by a weak reference",
           "archive:member_not_pulled_by_weak_reference"),
        _r(t, "archives", "a pulled member pulls another", "archive:member_pulls_member"),
        _r(t, "archives", "--start-group/--end-group over two archives", "archive:group"),
        _r(t, "archives", "member pulled to initialise a COMMON (GNU ld's rule)",
           "archive:member_pulled_to_initialise_a_common"),
        _r(t, "archives", "thin and index-less archives", "inputs:thin", "inputs:no_index"),
        _r(t, "COMDAT", "COMDAT groups (one copy kept)", "section:text:comdat"),
        _r(t, "relocatable output", "-r of a run of objects (one or several), then the final "
           "link", "relocatable:run", "relocatable:run_of_several"),
        _r(t, "garbage collection", "--gc-sections: unreferenced code, data and read-only "
           "data, referring to each other and to live code", "gc:dead:text", "gc:dead:data",
           "gc:dead:rodata", "gc:dead_refers_to_live", "gc:dead_refers_to_dead"),
        _r(t, "garbage collection", "--gc-sections: SHF_GNU_RETAIN sections are roots, with "
           "what they refer to", "gc:dead:retained"),
        _r(t, "dynamic linking", "calls to imports through the PLT (lazy and now)",
           "import:function:plt"),
        _r(t, "dynamic linking", "calls to imports through the GOT (relaxable and strict)",
           "import:function:got_indirect", "import:function:got_load",
           "import:function:got_load_strict"),
        _r(t, "dynamic linking", "pointers to imports in data (R_X86_64_64 dynamic)",
           "import:function:pointer_in_data"),
        _r(t, "dynamic linking", "imported data through the GOT (GLOB_DAT)", "import:data:got"),
        _r(t, "dynamic linking", "pointers with addends to imported data, read through "
           "(dynamic R_X86_64_64 with its addend)", "load_through:pointer_with_addend"),
        _r(t, "COPY", "imported data reached directly (COPY)", "import:data:copy"),
        _r(t, "COPY", "COPY of imported data with a (weak) alias: one copy for both names",
           "copy:alias"),
        _r(t, "COPY", "COPY keeps the library's alignment (64)", "copy:alignment"),
        _r(t, "canonical PLT", "an import's address taken (movl $f, movq $f, lea f(%rip), "
           ".quad f, GOT) = the library's view of it", "canonical:abs_u32", "canonical:abs_s32",
           "canonical:pc_rel", "canonical:data_64", "canonical:got"),
        _r(t, "layout", "section alignment past a page", "align:4096"),
        _r(t, "layout", "zero-fill of more than a page takes no file space",
           "zero_fill:more_than_a_page"),
    ]
    rows += [
        _r(t, "TLS", "TLS local exec (%fs:v@tpoff and v@tpoff(%rax)), .tdata and .tbss",
           "tls:le", "tls:le_base", "tls:tdata", "tls:tbss"),
        _r(t, "TLS", "TLS initial exec (v@gottpoff), from another object", "tls:ie",
           "tls:other_object"),
    ]
    rows += [
        _r(t, "TLS", "TLS general dynamic relaxed (-fPIC executable code)",
           "modules:tls-gd-in-exe"),
        _r(t, "TLS", "TLS local dynamic relaxed (-fPIC executable code, hidden variables)",
           "modules:tls-ld-in-exe"),
    ]
    rows += [  # fuzz/modules.py: an executable and shared libraries, linked in any seat
        _r(t, "shared output", "default, hidden and protected functions; interposition",
           "modules:func-default", "modules:func-protected", "modules:interposed",
           "modules:func-lib-to-exe", "modules:func-exe-to-lib"),
        _r(t, "shared output", "data across modules: COPY in the executable, GOT in libraries",
           "modules:data-exe-to-lib", "modules:data-lib-to-lib"),
        _r(t, "shared output", "TLS in every module: GD/LD in libraries, IE from the "
           "executable, GD against the executable's", "modules:tls-default",
           "modules:tls-exe-to-lib", "modules:tls-lib-to-exe"),
        _r(t, "shared output", "pointers in .data and RELRO (RELATIVE and symbolic)",
           "modules:fptr-relro", "modules:fptr-data", "modules:dptr-relro",
           "modules:dptr-data"),
        _r(t, "shared output", "a DT_NEEDED chain (breadth-first lookup)",
           "modules:needed-chain"),
        _r(t, "shared output", "--dynamic-list in -shared: unlisted exports bound locally, "
           "an interposed one among them", "modules:dynamic-list",
           "modules:dynamic-list-unlisted-interposed"),
        _r(t, "shared output", "-Bsymbolic-functions: a library's own functions bound "
           "locally, an interposed one among them", "modules:symbolic-functions",
           "modules:symbolic-functions-interposed"),
        _r(t, "shared output", "--default-symver: a library's exports versioned after its "
           "soname", "modules:default-symver"),
        _r(t, "shared output", "PIE, -fPIC and non-PIC executables against libraries",
           "modules:exe-pie", "modules:exe-pic", "modules:exe-nopic"),
    ]
    rows += [_r(t, "layout", "-z relro in PIEs and shared objects", "modules:relro")]
    rows += [_r(t, "TLS", "TLS general dynamic relaxed (v@tlsgd + __tls_get_addr)", "tls:gd"),
             _r(t, "TLS", "TLS local dynamic relaxed (v@tlsld, v@dtpoff)", "tls:ld")]
    rows += [  # fuzz/features.py's self-checking programs
        _r(t, "IFUNC", "STT_GNU_IFUNC in static and dynamic links", "ifunc:static",
           "ifunc:dynamic"),
        _r(t, "IFUNC", "IFUNC called (PLT32, GOT) and its address taken (lea, GOT, .quad): "
           "one address", "ifunc:call", "ifunc:got_call", "ifunc:lea", "ifunc:got_load",
           "ifunc:data"),
        _r(t, "symbol versions", "versioned references (default, .symver-pinned, two versions "
           "of one name) to a versioned library (fuzz/versions.py)", "versions:default",
           "versions:VER_1", "versions:VER_2", "versions:only",
           "versions:two_versions_of_one_name"),
        _r(t, "init_array", ".init_array/.ctors ordering by priority, then input order",
           "init:init_array:numbered", "init:init_array:unnumbered", "init:ctors:numbered",
           "init:ctors:unnumbered", "init:priority_order"),
        _r(t, "merge", "SHF_MERGE strings (duplicates, shared tails, inner offsets; by label "
           "and by name) and constants", "merge:string:pc_rel", "merge:string:abs32",
           "merge:string:data64", "merge:string:duplicate", "merge:string:tail",
           "merge:string:named", "merge:string:inner_offset", "merge:constant"),
        _r(t, "layout", "__start_/__stop_ symbols", "start_stop:several_objects"),
        _r(t, "layout", ".eh_frame and --eh-frame-hdr (every FDE found by the program)",
           "eh_frame:fdes", "eh_frame_hdr"),
        _r(t, "layout", "-z relro (read-only after ld.so)", "relro"),
        _r(t, "inputs", "GNU ld scripts (GROUP/INPUT)", "inputs:script_input",
           "inputs:script_group"),
    ]
    return rows


def _i386_rows() -> list[Row]:
    t = I386
    rows = [_r(t, "relocations", f"R_386_{r}", f"i386:reloc:R_386_{r}") for r in _I386_RELOCS]
    rows += [_r(t, "relocations", f"R_386_{r} against a section symbol",
                f"i386:reloc:R_386_{r}:section") for r in ("32", "PC32", "GOTOFF")]
    rows += [
        _r(t, "relocations", "no-base GOT32X (non-PIC -fno-plt)", "i386:got32x:no_base"),
        _r(t, "relocatable output", "-r of a run of objects (REL addends written back), then "
           "the final link", "relocatable:run", "relocatable:run_of_several"),
        _r(t, "range edges", "R_386_16 above the signed limit (unsigned reading)",
           "i386:reloc:R_386_16:above_signed_limit"),
        _r(t, "errors", "undefined, duplicate, narrow overflow", "i386:error:undefined",
           "i386:error:duplicate", "i386:error:overflow"),
        # fuzz/features_i386.py's self-checking programs
        _r(t, "archives", "archives on i386 (plain, thin, a script's GROUP; a weak reference "
           "pulls nothing)", "i386:archive:member_pulled", "i386:inputs:thin",
           "i386:inputs:script_group", "i386:archive:weak_reference_does_not_pull"),
        _r(t, "symbol resolution", "undefined weak on i386 (absolute, .long, GOT)",
           "i386:weak_undefined:abs", "i386:weak_undefined:data", "i386:weak_undefined:got"),
        _r(t, "canonical PLT", "pointer equality on i386 (movl $f, .long f, GOT)",
           "i386:canonical:abs", "i386:canonical:data", "i386:canonical:got"),
        _r(t, "IFUNC", "IRELATIVE in dynamic i386 links (called, address taken three ways)",
           "i386:ifunc:dynamic", "i386:ifunc:call", "i386:ifunc:abs", "i386:ifunc:data",
           "i386:ifunc:got"),
        _r(t, "debug information", "R_386_GOTOFF in a non-allocated section (S + A - GOT, as "
           "gcc -m32 -fPIC -g writes call-site values)", "i386:gotoff:non_alloc"),
    ]
    return rows


def _debug_map_rows(t: str, prefix: str) -> list[Row]:
    """The debug map (stabs naming each object's DWARF unit), judged by MACHO-STAB-* and
    fuzz/macho/judge.py's debug_map, from fuzz/macho/dwarf.py's units."""
    return [
        _r(t, "debug information", "debug map from DWARF 2, 4 and 5 units",
           f"{prefix}:dwarf:v2", f"{prefix}:dwarf:v4", f"{prefix}:dwarf:v5"),
        _r(t, "debug information", "unit names inline and in __debug_str",
           f"{prefix}:dwarf:inline", f"{prefix}:dwarf:strp"),
        _r(t, "debug information", "objects without debug information (no unit)",
           f"{prefix}:dwarf:none"),
    ]


def _tlv_dylib_rows(t: str, arch: str) -> list[Row]:
    """fuzz/macho/tlv_dylib.py's labels."""
    return [_r(t, "TLV", "a dylib's thread-local variables, read by the dylib and by the "
               "executable (through slots bound to the dylib's descriptors), on threads too",
               f"tlv:dylib:{arch}", "tlv:dylib:imported", "tlv:dylib:own", "tlv:dylib:thread")]


def _archive_rows(t: str, prefix: str) -> list[Row]:
    """fuzz/macho/archive.py's labels: a BSD archive (__.SYMDEF SORTED) after the objects,
    pulled by ld64's rules (all archives one group; weak references pull too)."""
    return [
        _r(t, "archives", "member pulled by a reference (a drawn object or a chain's head)",
           f"{prefix}:archive:pulled"),
        _r(t, "archives", "a pulled member pulls another", f"{prefix}:archive:member_pulls_member"),
        _r(t, "archives", "member pulled by a weak reference (N_WEAK_REF: ld64 pulls, GNU ld "
           "would not)", f"{prefix}:archive:pulled_by_weak_ref"),
        _r(t, "archives", "the archive before the objects on the command line (ld64 loads "
           "every object first)", f"{prefix}:archive:before_objects"),
        _r(t, "archives", "members left out (their symbols absent; a decoy that would be "
           "a duplicate definition)", f"{prefix}:archive:not_pulled",
           f"{prefix}:archive:decoy_duplicate_left"),
        _r(t, "archives", "an archive written by llvm-ar-14 (unsorted `__.SYMDEF`, its own "
           "padding) as well as by ours (`__.SYMDEF SORTED`, cctools' layout)",
           f"{prefix}:archive:llvm_ar"),
    ]


def _macho64_rows() -> list[Row]:
    t = MACHO64
    rows = [_r(t, "relocations", f"X86_64_RELOC_{r.replace(':', ' ', 1).replace(':', ' bytes, ')}",
               f"macho:reloc:{r}") for r in _MACHO_RELOCS]
    rows += [
        _r(t, "relocations", "SIGNED_1/2/4 (stores with immediates)",
           "macho:reloc:SIGNED_1", "macho:reloc:SIGNED_2", "macho:reloc:SIGNED_4"),
        _r(t, "binds and rebases", "pointer to imported data with an addend (bind / external "
           "relocation)", "macho:pointer:import:with_addend"),
        _r(t, "binds and rebases", "pointer into the image with an addend (rebase / local "
           "relocation)", "macho:pointer:image:with_addend"),
        _r(t, "symbol resolution", "weak imports (N_WEAK_REF)", "macho:weak_ref"),
        _r(t, "symbol resolution", "private externs (N_PEXT)", "macho:private_extern"),
        _r(t, "COMMON", "__common", "macho:common"),
        _r(t, "TLV", "thread-local variables (__thread_data, __thread_bss), read and written "
           "from either object (X86_64_RELOC_TLV, relaxed to leaq)", "tlv:x86_64", "tlv:data",
           "tlv:bss", "tlv:other_object", "tlv:store"),
        _r(t, "TLV", "a thread's own copy of the thread-local variables", "tlv:thread"),
        *_tlv_dylib_rows(t, "x86_64"),
        _r(t, "TLV", "C++ thread_local objects with destructors (clang++: per-unit "
           "___tls_init and ___tls_guard, __tlv_atexit, ___dso_handle), built per thread, "
           "destroyed newest first at thread end and at exit before statics "
           "(fuzz/macho/tlv_cxx.py)", "tlv:cxx:destructors", "tlv:cxx:thread",
           "tlv:cxx:main_thread_at_exit", "tlv:cxx:other_unit", "tlv:cxx:two_guards",
           "tlv:cxx:before_static", "tlv:cxx:statics_in_link_order"),
        _r(t, "binds and rebases", "chained fixups and dyld-info opcodes for one program",
           "fixups:chained"),
        _r(t, "dylibs", "part of the program in a dylib (-dylib), opcodes or chained fixups",
           "macho-dylib:split", "macho-dylib:opcodes", "macho-dylib:chained"),
        _r(t, "dylibs", "calls, GOT references and pointers in data to the other image",
           "macho-dylib:call", "macho-dylib:got", "macho-dylib:bind-in-data"),
        _r(t, "dylibs", "a dylib reaching the executable (-undefined dynamic_lookup)",
           "macho-dylib:flat-lookup"),
        _r(t, "dylibs", "weak definitions in several images coalesced by dyld (the "
           "executable's copy winning; weak data read through GOT slots)",
           "macho-images:weak-coalesced", "macho-images:weak-exe-wins",
           "macho-images:weak-data"),
        _r(t, "dylibs", "dylibs found through LC_RPATH (@executable_path, @loader_path)",
           "macho-images:rpath", "macho-images:loader-path"),
        _r(t, "dylibs", "a bundle opened with dlopen, its entry found with dlsym",
           "macho-images:bundle-dlopen"),
        *_debug_map_rows(t, "macho"),
        _r(t, "relocations", "SUBTRACTOR pairs at the edges of their range (32-bit: "
           "0x7fffffff and -2**31 link; -2**31-1 is an overflow error; 64-bit: -2**63)",
           "macho:subtractor:edge:32:max", "macho:subtractor:edge:32:min",
           "macho:subtractor:edge:64:min", "macho:subtractor:edge:32:past_min"),
        _r(t, "errors", "undefined, duplicate, SUBTRACTOR(32) overflow",
           "macho:error:undefined", "macho:error:duplicate", "macho:error:overflow"),
        *_archive_rows(t, "macho"),
        _r(t, "range edges", "SUBTRACTOR(32) pairs of two symbols near both edges of their "
           "range, and past them (refused) (fuzz/macho/subtractor.py)",
           "macho:subtractor:near_max", "macho:subtractor:near_min",
           "macho:subtractor:past_max", "macho:subtractor:past_min"),
        _r(t, "range edges", "SUBTRACTOR(32) pairs exactly at both edges (2**31 - 1, -2**31 "
           "link) and the first values past them (2**31, -2**31 - 1 refused), placed by a "
           "probe link", "macho:subtractor:at_max", "macho:subtractor:at_min",
           "macho:subtractor:first_past_max", "macho:subtractor:first_past_min"),
    ]
    return rows


def _macho32_rows() -> list[Row]:
    """fuzz/macho/coverage_i386.py's labels (our MH_OBJECT i386 files)."""
    t = MACHO32
    rel = "macho-i386:reloc:"
    rows = [_r(t, "relocations", f"GENERIC_RELOC_VANILLA absolute {w} bytes, extern",
               f"{rel}VANILLA:{w}:extern") for w in (1, 2, 4)]
    rows += [_r(t, "relocations", f"GENERIC_RELOC_VANILLA absolute 4 bytes, {form}",
                f"{rel}VANILLA:4:{form}") for form in ("section", "scattered")]
    rows += [_r(t, "relocations", f"GENERIC_RELOC_VANILLA pc-relative {w} bytes, section",
                f"{rel}VANILLA:pcrel:{w}:section") for w in (1, 2, 4)]
    rows += [_r(t, "relocations", f"GENERIC_RELOC_{k} + PAIR, {w} bytes", f"{rel}{k}:{w}:pair")
             for k in ("SECTDIFF", "LOCAL_SECTDIFF") for w in (1, 2, 4)]
    rows += [
        _r(t, "relocations", "GENERIC_RELOC_VANILLA pc-relative extern (calll _f)",
           f"{rel}VANILLA:pcrel:4:extern"),
        _r(t, "dynamic linking", "an object's __IMPORT,__pointers (indirect symbols)",
           "macho-i386:pointers"),
        _r(t, "dynamic linking", "calls to imports through stubs (both modes)",
           "macho-i386:call:import"),
        _r(t, "dynamic linking", "a call into libSystem (exit; esp 16-aligned)",
           "macho-i386:exit:libsystem"),
        _r(t, "binds and rebases", "pointer to imported data with an addend",
           "macho-i386:pointer:import:with_addend"),
        _r(t, "binds and rebases", "pointer into the image with an addend",
           "macho-i386:pointer:image:with_addend"),
        _r(t, "symbol resolution", "weak imports (N_WEAK_REF)", "macho-i386:weak_ref"),
        _r(t, "symbol resolution", "private externs (N_PEXT)", "macho-i386:private_extern"),
        _r(t, "COMMON", "__common", "macho-i386:common"),
        _r(t, "dylibs", "part of the program in a dylib whose code holds its own addresses "
           "(text rebases), reaching the executable by flat lookup", "macho-i386-dylib:split",
           "macho-i386-dylib:text-rebase", "macho-i386-dylib:flat-lookup"),
        _r(t, "TLV", "thread-local variables (__thread_data, __thread_bss), read and written "
           "from either object (GENERIC_RELOC_TLV, relaxed to leal)", "tlv:i386", "tlv:data",
           "tlv:bss", "tlv:other_object", "tlv:store"),
        _r(t, "TLV", "-mdynamic-no-pic's absolute descriptor loads (GENERIC_RELOC_TLV, not "
           "pc-relative: `movl _v@TLVP, %eax` relaxed to `movl $desc, %eax`, other registers "
           "to `leal`; a dylib's through a pointer slot's absolute address)",
           "tlv:i386:absolute"),
        _r(t, "TLV", "C++ thread_local objects with destructors on i386 (cdecl __tlv_atexit, "
           "per-unit ___tls_init; fuzz/macho/tlv_cxx.py)", "tlv:cxx:i386",
           "tlv:cxx:i386:thread"),
        *_debug_map_rows(t, "macho-i386"),
        *_tlv_dylib_rows(t, "i386"),
        _r(t, "dynamic linking", "an object's __IMPORT,__jump_table (S_SYMBOL_STUBS, old gcc)",
           "macho-i386:jump_table"),
        _r(t, "errors", "undefined, duplicate, narrow VANILLA overflow",
           "macho-i386:error:undefined", "macho-i386:error:duplicate",
           "macho-i386:error:overflow"),
        *_archive_rows(t, "macho-i386"),
        *(_r(t, "range edges", f"GENERIC_RELOC_(LOCAL_)SECTDIFF {w} byte(s) exactly at both "
             f"edges ({2**(8 * w) - 1} and {-2**(8 * w - 1)} link) and the first values past "
             f"them (refused) (fuzz/macho/sectdiff.py)",
             *(f"macho-i386:sectdiff:{w}:{e}" for e in ("at_max", "at_min", "first_past_max",
                                                         "first_past_min")),
             "macho-i386:sectdiff:local", "macho-i386:sectdiff:extern") for w in (1, 2)),
    ]
    return rows


ROWS: tuple[Row, ...] = (*_elf64_rows(), *_i386_rows(), *_macho64_rows(), *_macho32_rows())

# The holes as of this table: a new one fails tests/fuzz/test_inventory.py.
KNOWN_HOLES = frozenset(r.key for r in ROWS if not r.labels)
