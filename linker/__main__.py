"""`python -m linker ARGS`: the same as `linkharness link ARGS` (what the gcc shim runs)."""

from .process import ld_main

ld_main()
