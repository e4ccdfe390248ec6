"""`python -m linker.macho`: the linker with ld64's command-line spelling (the ld64 shim)."""

import sys

from .cli import main

sys.exit(main())
