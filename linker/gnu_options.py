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
