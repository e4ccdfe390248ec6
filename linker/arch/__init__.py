"""Per-arch byte templates (PLT entries), one module per arch."""

from __future__ import annotations

from . import i386, x86_64
from .plt import MachoStubTemplate, PltField, PltTemplate

PLT_TEMPLATES: dict[str, PltTemplate] = {"x86_64": x86_64.TEMPLATE, "i386": i386.TEMPLATE}
# The form a position-independent executable needs, where it differs (x86-64's PLT is
# %rip-relative, so one form serves both).
PIC_PLT_TEMPLATES: dict[str, PltTemplate] = {"i386": i386.PIC_TEMPLATE}
MACHO_STUB_TEMPLATES: dict[str, MachoStubTemplate] = {"x86_64": x86_64.MACHO_STUBS,
                                                      "i386": i386.MACHO_STUBS}

__all__ = ["MACHO_STUB_TEMPLATES", "PIC_PLT_TEMPLATES", "PLT_TEMPLATES", "MachoStubTemplate", "PltField",
           "PltTemplate"]
