"""`python -m linker.macho`: the linker with ld64's command-line spelling (the ld64 shim)."""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # why: see linker/__main__.py

from .cli import main  # after the environment is set

sys.exit(main())
