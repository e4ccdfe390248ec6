"""`python -m linker ARGS`: the same as `linkharness link ARGS` (what the gcc shim runs)."""

import sys

from .cli import main

sys.exit(main())
