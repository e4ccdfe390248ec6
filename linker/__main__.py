"""`python -m linker ARGS`: the same as `linkharness link ARGS` (what the gcc shim runs)."""

import os
import sys

# numpy loads OpenBLAS, which starts a thread per core at load time and spins them up: a
# quarter of numpy's import time on this project's 2-core machines, for a library the
# linker never calls.  One thread, unless the caller chose otherwise (read when the
# library loads, so it must be set before the first numpy import).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # after the environment is set

sys.exit(main())
