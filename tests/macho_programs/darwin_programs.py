"""Which programs of tests/programs are built for Darwin, and why the others are not.

The programs and their expectations are the ELF suite's own (tests/programs, read through
tests/integration/program_spec.py): a Darwin build must print what the native ELF builds
print and exit the same way.  The set is chosen, not discovered: a program added to
tests/programs later (the ELF suite keeps growing) joins only once someone has checked that
it means the same thing on Darwin.  A reviewed program is left out only when its source
cannot mean the same thing on Darwin, or when what it needs is missing from Darwin's C
library as this project models it; each exclusion says which.
"""

from __future__ import annotations

from program_spec import ProgramSpec, load_programs

DARWIN_PROGRAMS = (
    "alignment", "archive_group", "archive_main", "archive_on_demand",
    "atexit_order", "big_bss", "common_symbols", "ctor_dtor", "cxx_inline_comdat",
    "data_pointers", "exit_status", "fnptr_data_table", "fnptr_equality", "fnptr_rodata_table",
    "func_data_sections", "hello_printf", "hidden_visibility", "malloc_free", "many_functions",
    "math_libm", "multi_file", "pic_noplt", "qsort_bsearch", "recursion", "setjmp_longjmp",
    "signal_handler", "static_locals", "stdio_streams", "string_ops", "strtol_args",
    "switch_table", "varargs", "weak_override", "weak_undefined",
)

# name -> why the program is not built for Darwin
EXCLUDED: dict[str, str] = {
    "archive_weak": "its expectation is GNU ld's rule (a weak reference does not pull an "
                    "archive member); ld64 pulls the member, and so does linkharness for Mach-O",
    "cxx_exceptions": "C++: needs libc++ and the C++ runtime, which the stub libSystem lacks",
    "init_fini_arrays": "ELF-only: .preinit_array/.init_array/.fini_array sections by name",
    "start_stop_sections": "ELF-only: __start_/__stop_ symbols of a named section",
    "environ_copy": "ELF-only: glibc's __environ alias of environ",
    "weak_alias": "ELF-only: clang rejects alias attributes on Darwin",
    "symbol_versions": "ELF-only: .symver and a version script",
    "symbol_version_pinned": "ELF-only: .symver and a version script",
    "reloc_zoo": "ELF-only: R_X86_64_* relocations written in GNU assembly",
    "shared_lib": "needs a shared library built from C (the emulated dyld loads only "
                  "libSystem and libtrace* stubs)",
    "shared_callbacks": "needs a shared library built from C",
    "shared_weak": "needs a shared library built from C",
    "mixed_pic_copy": "needs a shared library built from C (COPY relocations are ELF-only)",
    "copy_alignment": "needs a shared library built from C (COPY relocations are ELF-only)",
}

# name -> extra ld64.lld arguments.  ld64 refuses an undefined symbol even when every
# reference is weak; `-U` lets it stay undefined, to be looked up at load time, where dyld
# binds a missing weak import to 0: the Darwin spelling of ELF's undefined weak.
# (linkharness resolves an undefined weak symbol to 0 by itself.)
LD64_FLAGS: dict[str, tuple[str, ...]] = {
    "weak_undefined": ("-U", "_optional_hook", "-U", "_optional_table", "-U", "_optional_name"),
}

# name -> the pointers to imports it stores in data.  --macho-classic writes those as
# LC_DYSYMTAB external relocations (the file has no dyld bind information), and the pointers
# into the image beside them as local relocations; these programs prove that path.
CLASSIC_IMPORT_POINTERS: dict[str, str] = {
    "fnptr_data_table": "pointers to libSystem functions in a data table",
    "fnptr_equality": "a pointer to puts in data",
    "fnptr_rodata_table": "pointers to libSystem functions in a const table",
    "pic_noplt": "a pointer to strlen in data",
}


def darwin_programs() -> list[ProgramSpec]:
    """The programs built for Darwin, sorted by name."""
    return [spec for spec in load_programs(default_variants=()) if spec.name in DARWIN_PROGRAMS]
