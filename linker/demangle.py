"""Symbol names as GNU ld prints them in diagnostics: demangled."""

from __future__ import annotations


def demangled(names: list[str]) -> dict[str, str]:
    """C++ and Rust names as GNU ld prints them in diagnostics (libiberty's demangler, run
    as binutils' c++filt without implementation details); only names that look mangled
    are asked about, and without c++filt a name stays as it is.  Errors only: never on a
    successful link's path."""
    mangled = [n for n in names if n.startswith(("_Z", "_R"))]
    if not mangled:
        return {}
    import shutil
    import subprocess
    tool = shutil.which("c++filt")
    if tool is None:
        return {}
    try:
        out = subprocess.run([tool, "-i"], input="\n".join(mangled) + "\n",
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    lines = out.splitlines()
    return dict(zip(mangled, lines)) if len(lines) == len(mangled) else {}
