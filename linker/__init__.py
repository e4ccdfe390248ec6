"""linkharness's linker: x86 and x86-64 ELF and Mach-O objects in, executables out.

The public surface is `link()` (Python API), `main()` (the `linkharness link` command line)
and `LinkError`.  Everything else in this package is internal to the linker; the oracle
and the fuzzers use only these names.
"""

from .api import LinkResult, link
from .cli import main, shim_dir
from .errors import LinkError

__all__ = ["LinkError", "LinkResult", "link", "main", "shim_dir"]
