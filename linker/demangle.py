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
    # Names are bytes from the objects (undecodable ones held as surrogate escapes): they
    # go to c++filt and come back as the same bytes
    text = "\n".join(mangled) + "\n"
    try:
        out = subprocess.run([tool, "-i"], input=text.encode("utf-8", "surrogateescape"),
                             capture_output=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    lines = out.decode("utf-8", "surrogateescape").split("\n")[:-1]
    return dict(zip(mangled, lines)) if len(lines) == len(mangled) else {}
