"""Objects from assembly text by GNU as, for the families whose cases are written as text
(features, TLS, COPY/canonical PLT, dead sections) rather than through our own writers."""

from __future__ import annotations

import subprocess
from pathlib import Path


def gnu_assemble(text: str, source: Path, *, m32: bool = False) -> Path:
    """Write `text` to `source`, assemble it (`as --64`, or `--32` with `m32`) into the
    object beside it (same name, .o) and return the object's path."""
    source.write_text(text)
    obj = source.with_suffix(".o")
    subprocess.run(["as", "--32" if m32 else "--64", "-o", str(obj), str(source)], check=True,
                   capture_output=True)
    return obj
