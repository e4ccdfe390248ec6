"""GNU ld's long option names (from `ld --help`, binutils 2.40), without their dashes.

GNU ld reads its command line with getopt_long_only: `-emit-relocs` is `--emit-relocs`, and
only a name starting with `o` needs two dashes (`-omagic` is `-o magic`).  The CLI needs
every name GNU ld knows, not only the ones linkharness implements, so that a one-dash
spelling of an option it does not support is refused by name instead of being misread as a
short option with a value (`-e mit-relocs`).
"""

from __future__ import annotations

_NAMES = """
    accept-unknown-input-arch add-stdcall-alias allow-multiple-definition
    allow-shlib-undefined architecture as-needed audit auxiliary base_file build-id
    check-sections compat-implib compress-debug-sections copy-dt-needed-entries cref
    ctf-share-types ctf-variables default-imported-symver default-script default-symver
    defsym demangle depaudit dependency-file disable-auto-image-base disable-auto-import
    disable-large-address-aware disable-long-section-names disable-multiple-abs-defs
    disable-new-dtags disable-reloc-section disable-runtime-pseudo-reloc
    disable-stdcall-fixup discard-all discard-locals discard-none dll dll-search-prefix
    dynamic-linker dynamic-list dynamic-list-cpp-new dynamic-list-cpp-typeinfo
    dynamic-list-data eh-frame-hdr embedded-relocs emit-relocs enable-auto-image-base
    enable-auto-import enable-extra-pe-debug enable-extra-pep-debug
    enable-long-section-names enable-new-dtags enable-non-contiguous-regions
    enable-non-contiguous-regions-warnings enable-reloc-section enable-runtime-pseudo-reloc
    enable-stdcall-fixup end-group entry error-handling-script error-unresolved-symbols
    exclude-all-symbols exclude-libs exclude-modules-for-implib exclude-symbols
    export-all-symbols export-dynamic export-dynamic-symbol export-dynamic-symbol-list
    fatal-warnings file-alignment filter force-exe-suffix force-group-allocation format
    gc-keep-exported gc-sections gpsize hash-size hash-style heap help
    ignore-unresolved-symbol image-base just-symbols kill-at large-address-aware
    ld-generated-unwind-info library library-path major-image-version major-os-version
    major-subsystem-version map-whole-files max-cache-size minor-image-version
    minor-os-version minor-subsystem-version mri-script nmagic no-accept-unknown-input-arch
    no-allow-shlib-undefined no-as-needed no-check-sections no-copy-dt-needed-entries
    no-ctf-variables no-define-common no-demangle no-dynamic-linker no-eh-frame-hdr
    no-export-dynamic no-fatal-warnings no-gc-sections no-keep-memory
    no-ld-generated-unwind-info no-map-whole-files no-omagic no-print-gc-sections
    no-print-map-discarded no-relax no-strip-discarded no-undefined no-undefined-version
    no-warn-execstack no-warn-mismatch no-warn-rwx-segments no-warn-search-mismatch
    no-warnings no-whole-archive noinhibit-exec oformat omagic orphan-handling out-implib
    output output-def package-metadata pic-executable pop-state print-gc-sections print-map
    print-map-discarded print-memory-usage print-output-format print-sysroot push-state
    reduce-memory-overheads relax require-defined retain-symbols-file script
    section-alignment section-start sort-common sort-section spare-dynamic-tags
    split-by-file split-by-reloc stack start-group stats strip-all strip-debug
    strip-discarded subsystem support-old-code sysroot target-help task-link thumb-entry
    trace trace-symbol traditional-format undefined undefined-version unique
    unresolved-symbols verbose version version-exports-section version-script
    warn-alternate-em warn-common warn-constructors warn-duplicate-exports warn-execstack
    warn-multiple-gp warn-once warn-rwx-segments warn-section-align warn-textrel
    warn-unresolved-symbols whole-archive wrap Bdynamic Bgroup Bno-symbolic Bshareable
    Bstatic Bsymbolic Bsymbolic-functions EB EL Map Qy Tbss Tdata Tldata-segment
    Trodata-segment Ttext Ttext-segment Ur assert dc dn dy fini flto flto-partition fuse-ld
    init no-pie nostdlib pie plugin plugin-opt qmagic rpath rpath-link shared soname
"""
GNU_LONG_OPTIONS = frozenset(_NAMES.split())

# `linkharness link --help`: configure scripts grep it for an option before passing it, so
# it lists what is honoured, and says what is refused.
USAGE = """Usage: linkharness link [OPTIONS] INPUTS...       (GNU ld's spelling; ld64's for Mach-O)

inputs, in order: objects, archives, shared objects, linker scripts, -lNAME, @FILE (more args)
  -o FILE                  output (a.out)
  -e SYMBOL                entry point (_start; _main for Mach-O)
  -L DIR, -lNAME           library search path, library (libNAME.so before libNAME.a)
  -static, -Bstatic/-Bdynamic, --as-needed/--no-as-needed, --whole-archive,
  --start-group ... --end-group, --push-state/--pop-state
  -dynamic-linker PATH     PT_INTERP (the target's ld.so by default)
  -pie, -no-pie            position-independent executable (ET_DYN) or not
  -shared, -soname NAME    shared object (ET_DYN, DT_SONAME); -Bsymbolic, -Bsymbolic-functions
  --version-script FILE    exports and version nodes; --exclude-libs LIB,...|ALL
  --default-symver         exports no script node names get a version named after the soname
  -z defs (--no-undefined), -z text|notext (DT_TEXTREL with a warning)
  -z now|lazy|execstack|noexecstack|relro|norelro|origin|nodefaultlib|muldefs|defs|undefs
  -z separate-code|noseparate-code, -z max-page-size=N, -z stack-size=N
  -z interpose|nodump|loadfltr|global|nodelete|nodlopen|initfirst   (DT_FLAGS_1)
  --hash-style sysv|gnu|both, --eh-frame-hdr, -rpath DIR, -E, -u SYMBOL
  --enable-new-dtags (DT_RUNPATH, default), --disable-new-dtags (DT_RPATH)
  --audit LIB, --depaudit LIB (-P)   DT_AUDIT, DT_DEPAUDIT
  -init SYMBOL, -fini SYMBOL          DT_INIT, DT_FINI (_init, _fini)
  --wrap=SYMBOL            references to SYMBOL go to __wrap_SYMBOL, __real_SYMBOL to SYMBOL
  --defsym=SYMBOL=EXPR     EXPR: NUMBER, SYMBOL, SYMBOL+NUMBER, SYMBOL-NUMBER
  -y SYMBOL, --trace-symbol=SYMBOL, -t/--trace    where SYMBOL is defined/used; files read
  -Map FILE, -M/--print-map   GNU ld's text link map (to FILE, to stdout)
  --map FILE, --json-map FILE linkharness's JSON link map (sections, symbols, GOT, PLT)
  -x/--discard-all         no local symbols; -X/--discard-locals (.L locals: always dropped)
  --sort-common[=ascending|descending], -Ttext-segment ADDR (image base)
  -Ttext ADDR, -Tdata ADDR, -Tbss ADDR, --section-start=SECTION=ADDR   place one section
  --sort-section=name|alignment               order of input sections in each output section
  -unique                  each orphan input section an output section of its own
  -z ibt, -z shstk, -z x86-64-baseline|v2|v3|v4   bits of the merged .note.gnu.property
  -z ibtplt                the IBT PLT (.plt + .plt.sec, endbr entries; also with -z ibt)
  -q/--emit-relocs         keep the inputs' relocations (.rela.*/.rel.*) in the executable
  -r/--relocatable [-unique]  one relocatable object: sections merged by name (-unique: not),
      COMDAT groups, symbols and relocations kept (elf64-x86-64, elf32-i386)
  --dynamic-list FILE, --dynamic-list-data    more exports to .dynsym
  --export-dynamic-symbol SYM, --export-dynamic-symbol-list FILE   an executable's too
  --gc-sections, --print-gc-sections          drop (and list) unreferenced sections
  --allow-multiple-definition, --unresolved-symbols=ignore-all|report-all|
      ignore-in-object-files|ignore-in-shared-libs, --no-undefined
  -S/--strip-debug, -s/--strip-all (symbols and debug), --compress-debug-sections=none|zlib
  -m elf_x86_64|elf_i386   or --target elf64-x86-64|elf32-i386|macho-x86_64|macho-i386
  --build-id[=sha1|md5|uuid|0xHEX|none]   .note.gnu.build-id (bare: sha1)
  --error-limit N          stop after N errors (20; 0: all), each one line
  --fatal-warnings, --warn-common, --verbose (lists the options accepted without effect)
  -v, --version            "linkharness VERSION (compatible with GNU ld)"
Mach-O (--target macho-x86_64|macho-i386 or -arch x86_64|i386): -platform_version macos MIN SDK,
  -lSystem (embedded stub when no SDK), -syslibroot DIR, --import SYM@DYLIB, --macho-classic
Accepted without effect (they cannot change an executable): -plugin, -plugin-opt, -O,
  --rpath-link, -nostdlib, ...
Refused in one line, by name: -T scripts, -Trodata-segment, -Tldata-segment,
  -unique=PATTERN, the LAM keywords, --emit-relocs with -s or -shared, options -r cannot
  honour (-pie, -s, --gc-sections, ...), and every other GNU ld option.
Errors are one line each; exit status 1; no output file is left behind.
Shims: gcc -B"$(linkharness ld-shim)"; clang --ld-path="$(linkharness ld64-shim)"."""
