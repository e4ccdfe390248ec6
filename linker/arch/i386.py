"""i386 PLT template for executables (i386 psABI, "Procedure Linkage Table", absolute form),
and the Mach-O i386 stubs (below).

i386 has no pc-relative data addressing, so a non-PIC executable's PLT names the GOT by
absolute address; a PIC object's calls still land here and work, because this form never
reads %ebx.  The lazy push carries the *byte offset* of the entry's relocation in
`.rel.plt` (n * sizeof(Elf32_Rel) = 8n), which is what `_dl_runtime_resolve` expects on i386.

Mach-O i386 (the Darwin i386 ABI and what ld64 writes for `-arch i386`; ld64.lld never
supported it).  The facts the templates below and linker/macho rely on, gathered from
dyld's and libdyld's sources (ImageLoaderMachOCompressed, dyld_stub_binder.s for i386),
ld64's stub pass and by assembling with llvm-mc-14 -triple i386-apple-macosx10.6:

* No pc-relative data addressing: PIC code finds its data with a pic base (`calll L0;
  L0: popl %eax`) and SECTDIFF pairs; stubs and the stub helper hold absolute addresses.
  So an image with stubs has pointers in __TEXT; dyld could slide it only through text
  rebases (REBASE_TYPE_TEXT_ABSOLUTE32, what ld64 writes for an i386 PIE), which we do not
  write: such an image is not MH_PIE (ld64's default below 10.7 for i386 too).
* Imported data is reached through the object's own `__IMPORT,__pointers` slots (the
  assembler names each by an indirect symbol); ld64 calls the output's non-lazy pointers
  `__nl_symbol_ptr` (not `__got`), and so do we.
* Lazy binding: the stub jumps through its `__la_symbol_ptr` slot, which first points at
  the slot's helper entry; that pushes the entry's offset in the lazy-bind opcodes and
  jumps to the common helper, which pushes the address of the image's `__dyld_private`
  word (dyld caches the ImageLoader there) and jumps through the non-lazy pointer to
  `dyld_stub_binder`.  The binder thus finds the cache at (%esp), the offset at 4(%esp),
  the caller's return address at 8(%esp); it binds the slot, drops its two words and
  jumps to the target with the caller's frame intact.
* Stack: 16-byte aligned at every call (libSystem's SSE code assumes it); crt1's `start`
  realigns the kernel's stack before calling main (see linker/macho/crt.py).
* LC_UNIXTHREAD carries x86_THREAD_STATE32 (flavor 1, 16 words, eip the 11th); LC_MAIN
  needs 10.8's dyld; LC_DYLD_INFO needs 10.6's.  __PAGEZERO is 4 KiB and __TEXT starts at
  0x1000.
"""

from __future__ import annotations

from .plt import MachoStubTemplate, PltField, PltTemplate

PLT0 = bytes.fromhex(
    "ff3500000000"  # push  GOT+4                ; GOT[1]: link map
    "ff2500000000"  # jmp   *GOT+8               ; GOT[2]: resolver
    "00000000"      # padding to 16
)
PLT0_FIELDS = (
    PltField(offset=2, target="got.plt", addend=4, pc_relative=False),
    PltField(offset=8, target="got.plt", addend=8, pc_relative=False),
)

PLTN = bytes.fromhex(
    "ff2500000000"  # jmp   *slot                ; bound: straight to the target
    "6800000000"    # push  $8n                  ; lazy: byte offset in .rel.plt
    "e900000000"    # jmp   PLT0
)
REL_SIZE = 8


def pltn_fields(slot_offset: int, entry_offset: int) -> tuple[PltField, ...]:
    return (
        PltField(offset=2, target="got.plt", addend=slot_offset, pc_relative=False),
        PltField(offset=12, target="plt", addend=-4),
    )


TEMPLATE = PltTemplate(PLT0, PLT0_FIELDS, PLTN, pltn_fields, push_offset=6, push_imm_offset=7,
                       push_value=lambda n: n * REL_SIZE)


# The PIC form, for position-independent executables (i386 psABI, "Position-Independent
# Procedure Linkage Table"): the caller has loaded %ebx with the GOT base (.got.plt's start,
# _GLOBAL_OFFSET_TABLE_), so every GOT access is n(%ebx) and the PLT holds no address.
PIC_PLT0 = bytes.fromhex(
    "ffb304000000"  # push  4(%ebx)              ; GOT[1]: link map
    "ffa308000000"  # jmp   *8(%ebx)             ; GOT[2]: resolver
    "00000000"      # padding to 16
)
PIC_PLTN = bytes.fromhex(
    "ffa300000000"  # jmp   *slot-GOT(%ebx)      ; bound: straight to the target
    "6800000000"    # push  $8n                  ; lazy: byte offset in .rel.plt
    "e900000000"    # jmp   PLT0
)


def pic_pltn_fields(slot_offset: int, entry_offset: int) -> tuple[PltField, ...]:
    return (
        PltField(offset=2, target="got.plt", addend=slot_offset, pc_relative=False,
                 got_relative=True),
        PltField(offset=12, target="plt", addend=-4),
    )


PIC_TEMPLATE = PltTemplate(PIC_PLT0, (), PIC_PLTN, pic_pltn_fields, push_offset=6,
                           push_imm_offset=7, push_value=lambda n: n * REL_SIZE)


# -- Mach-O i386 (what ld64 writes for -arch i386; no pc-relative data addressing, so every
# operand is an absolute address, like the ELF PLT above) ---------------------------------
#
#   stub        jmp *slot                    ff 25 abs32         6 bytes (reserved2 = 6)
#   helper hdr  push $__dyld_private         68 abs32            the image's cache word
#               jmp  *dyld_stub_binder_ptr   ff 25 abs32         its __nl_symbol_ptr slot
#               nop                                              12 bytes
#   entry       push $lazy_bind_offset       68 imm32            10 bytes per import
#               jmp  helper hdr              e9 rel32
#
# dyld_stub_binder (libdyld's i386 dyld_stub_binder.s) therefore finds, at entry, the cache
# address at (%esp), the lazy-bind offset at 4(%esp) and the stub caller's return address
# at 8(%esp): it binds the slot, pops its two words and jumps to the target, so the callee
# sees the caller's own frame.  The stack was 16-byte aligned at the caller's `call` (the
# Darwin i386 ABI) and is left so at the target's entry.
MACHO_STUBS = MachoStubTemplate(
    stub=bytes.fromhex("ff2500000000"),
    stub_field=PltField(offset=2, target="slot", addend=0, pc_relative=False),
    helper_header=bytes.fromhex("6800000000" "ff2500000000" "90"),
    header_fields=(PltField(offset=1, target="dyld_private", addend=0, pc_relative=False),
                   PltField(offset=7, target="binder", addend=0, pc_relative=False)),
    helper_entry=bytes.fromhex("6800000000" "e900000000"),
    entry_push_imm=1,
    entry_fields=(PltField(offset=6, target="header", addend=-4),),
)
