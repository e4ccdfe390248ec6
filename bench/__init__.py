"""Link-speed benchmarks: linkharness side by side with GNU ld, gold, lld and mold.

The modules are run as scripts (`python bench/run.py`, `python bench/link_speed.py`) and
import each other as the `bench` package; see `link_speed.py` for the entry point.
"""
