"""What differs between a Mach-O executable and a dylib or bundle (`-dylib`, `-bundle`),
in one place for link.py: the base address (an executable's __TEXT sits above
__PAGEZERO; a dylib or bundle is linked at 0, dyld slides it wherever it fits), the
segment indexes that bind and rebase opcodes name (an executable's __PAGEZERO is 0), and
the library ordinals, including the flat-lookup pseudo-library that `-undefined
dynamic_lookup` binds through.
"""

from __future__ import annotations

from typing import Any

from ..errors import LinkError
from ..model import DynamicLibrary, DynamicSymbol, SymType
from ..records import dataclass
from ..resolve import SymbolTable
from .dyldinfo import BindEntry
from .symbols import BIND_SPECIAL_DYLIB_FLAT_LOOKUP
from .write import EXECUTABLE, MH_BUNDLE, MH_DYLIB, VM_PROT_W, ImageKind, SegmentPlan

# The soname of the pseudo-library that holds what -undefined dynamic_lookup leaves to
# dyld's flat lookup: bound with ordinal BIND_SPECIAL_DYLIB_FLAT_LOOKUP, no LC_LOAD_DYLIB.
FLAT_LOOKUP = "<flat lookup: -undefined dynamic_lookup>"


def kind_from_options(options: dict[str, Any], output: str) -> ImageKind:
    """Pop the image-kind options from `macho_options` (what `link()` and the ld64 CLI
    pass): output_kind "dylib" or "bundle" (default: an executable), and for a dylib
    install_name (default: the output path, as ld64's), current_version and
    compatibility_version (xxxx.yy.zz packed, as LC_ID_DYLIB stores them)."""
    what = options.pop("output_kind", None)
    identity = {k: options.pop(k) for k in ("install_name", "current_version",
                                            "compatibility_version") if k in options}
    if what is None:
        if identity:
            raise LinkError(f"-{next(iter(identity))} is only for -dylib")
        return EXECUTABLE
    if what == "bundle":
        if identity:
            raise LinkError(f"-{next(iter(identity))} is only for -dylib, not -bundle")
        return ImageKind(MH_BUNDLE)
    if what != "dylib":
        raise LinkError(f"output_kind {what!r}: one of dylib, bundle")
    identity.setdefault("install_name", output)
    return ImageKind(MH_DYLIB, **identity)


def image_base(arch_base: int, pagezero_size: int | None, kind: ImageKind) -> int:
    """Where __TEXT (and the header) is linked."""
    if not kind.executable:
        return 0
    return arch_base if pagezero_size is None else pagezero_size


def refuse_classic_library(classic: bool, kind: ImageKind) -> None:
    if classic and not kind.executable:
        raise LinkError("-dylib and -bundle are written with dyld info only (not "
                        "--macho-classic or a minimum below macOS 10.6)")


def library_ordinals(symtab: SymbolTable) -> dict[str, int]:
    """Install name -> library ordinal: 1-based LC_LOAD_DYLIB order (libraries merged by
    install name), the flat-lookup pseudo-library -2."""
    out: dict[str, int] = {}
    for lib in symtab.libraries:
        if lib.soname == FLAT_LOOKUP:
            out[lib.soname] = BIND_SPECIAL_DYLIB_FLAT_LOOKUP
        elif lib.soname not in out:
            out[lib.soname] = 1 + sum(1 for n in out.values() if n > 0)
    return out


def add_flat_lookup(symtab: SymbolTable) -> bool:
    """`-undefined dynamic_lookup`: every symbol still undefined becomes an import that
    dyld finds by flat lookup (in the executable, then every loaded image).  True when
    there was any."""
    names = [s.name for s in symtab.symbols if s.undefined and s.referenced]
    if not names:
        return False
    symtab.add_library(DynamicLibrary(path=FLAT_LOOKUP, soname=FLAT_LOOKUP, symbols={
        n: DynamicSymbol(n, SymType.FUNC, 0) for n in names}))
    return True


@dataclass(frozen=True)
class SegmentIndex:
    """Segment plans numbered as load commands number them (`first`: __PAGEZERO's 1)."""

    plans: list[SegmentPlan]
    first: int

    def locate(self, addr: int) -> tuple[int, int]:
        """(segment index, offset) of an address inside one of the plans."""
        for n, plan in enumerate(self.plans):
            if plan.vmaddr <= addr < plan.vmaddr + plan.vmsize:
                return self.first + n, addr - plan.vmaddr
        raise AssertionError(f"a bind or rebase at {addr:#x} is in no segment")

    def read_only(self) -> frozenset[int]:
        """The indexes of the segments that are not writable (__TEXT)."""
        return frozenset(self.first + n for n, plan in enumerate(self.plans)
                         if not plan.prot & VM_PROT_W)

    def address(self, entry: BindEntry) -> int:
        return self.plans[entry.segment - self.first].vmaddr + entry.offset
