"""Per-arch byte templates (PLT entries), one module per arch."""

from __future__ import annotations

from . import i386, x86_64
from .plt import MachoStubTemplate, PltField, PltTemplate

PLT_TEMPLATES: dict[str, PltTemplate] = {"x86_64": x86_64.TEMPLATE, "i386": i386.TEMPLATE}
MACHO_STUB_TEMPLATES: dict[str, MachoStubTemplate] = {"x86_64": x86_64.MACHO_STUBS,
                                                      "i386": i386.MACHO_STUBS}

__all__ = ["MACHO_STUB_TEMPLATES", "PLT_TEMPLATES", "MachoStubTemplate", "PltField",
           "PltTemplate"]
