"""Per-arch byte templates (PLT entries), one module per arch."""

from __future__ import annotations

from . import i386, x86_64
from .plt import PltField, PltTemplate

PLT_TEMPLATES: dict[str, PltTemplate] = {"x86_64": x86_64.TEMPLATE, "i386": i386.TEMPLATE}

__all__ = ["PLT_TEMPLATES", "PltField", "PltTemplate"]
