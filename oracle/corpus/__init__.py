"""The regression corpus: cases that must keep passing, as data (objects + case.json).

    add_case(dest_dir, objects, link_args, expect, origin, caught, asm_text=None) -> Path
    load_case(dir) -> Case;  find_cases(root) -> [dir];  iter_cases(root) -> Case...
    replay_case(case, linker="linkharness", workdir=None, *, bind=None, judges=None)
        -> CaseResult

The format is documented in corpus/README.md; `linkharness corpus` is the command line.
"""

from .judges import EMULATOR, JUDGES, NATIVE, Observation
from .model import Case, CaseFormatError, Expect, LinkArgs, TraceCall
from .replay import CaseResult, replay_case
from .store import add_case, default_corpus_dir, find_cases, iter_cases, load_case
from .toolchain import LINKERS

__all__ = [
    "EMULATOR", "JUDGES", "LINKERS", "NATIVE", "Case", "CaseFormatError", "CaseResult",
    "Expect", "LinkArgs", "Observation", "TraceCall", "add_case", "default_corpus_dir",
    "find_cases", "iter_cases", "load_case", "replay_case",
]
