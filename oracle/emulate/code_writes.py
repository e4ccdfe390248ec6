"""Code the guest writes while it runs: memory it may both write and execute (an RWX
PT_LOAD, as `ld -N` makes one, or an mprotect asking for PROT_WRITE|PROT_EXEC).

The translation guard (translation_guard.py) checks code before Unicorn may translate
it: at a run's start and when mprotect makes memory executable.  Bytes written later into
writable code escaped it, and a straight line of x87 register forms written there and
jumped to crashed the process.  So such memory is never writable and executable in
Unicorn at once; each of its pages is, as W^X systems keep it, in one of two states:

  armed    read+exec in Unicorn: its bytes have been checked.  A store into it faults
           (write-protected); the page is disarmed and the store made again.
  pending  read+write in Unicorn: written since its last check.  A fetch from it faults
           (fetch-protected); the page (with the blocks that may run into it from the page
           before) is checked, armed, and the fetch made again, or the run stops with the
           guard's fault if the new code is code Unicorn cannot translate.

A store by an instruction on the page it writes to is made by one instruction step with
the page writable and executable (its bytes, the checked ones, are what is translated),
and the page is disarmed after it.  Disarming also drops the blocks translated from the
page: x86 runs the bytes as they are now, and Unicorn does not notice a write under a
translated block.  Library code writing into guest memory (read(2), memcpy, ...) disarms
the pages it writes the same way (Machine hooks UcMemory's writes).

Counting instructions (a budget): Unicorn tells no count for a slice a fault cut short, so
a cut slice counts whole, and a program with writable code runs in slices of
WRITABLE_CODE_SLICE (machine.py): its count is over by less than that per fault of this
module's, the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from unicorn import UC_MEM_FETCH_PROT, UC_MEM_WRITE_PROT, UC_PROT_EXEC, UC_PROT_WRITE, Uc

from oracle.emulate import translation_guard

PAGE = 0x1000
INSTRUCTION_BYTES = 15  # the longest x86 instruction: a store's own bytes may span pages


class UnsafeCode(Exception):
    """Code written at run time that Unicorn cannot translate safely, at `address`."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.address = address


class WritableCode:
    """The pages of one run the guest may write and execute, and which are armed."""

    def __init__(self, uc: Uc, protect: Callable[[int, int, int], None], bits: int) -> None:
        self._uc = uc
        self._protect = protect  # Cpu.protect: notes executable ranges for the next run
        self._bits = bits
        self._prot: dict[int, int] = {}  # page -> the guest's protection (with W and X)
        self._armed: set[int] = set()
        self.deadline = math.inf

    def __bool__(self) -> bool:
        return bool(self._prot)

    def watch(self, addr: int, size: int, prot: int) -> None:
        """[addr, addr + size) is now the guest's writable code, its bytes checked (the
        caller ran the guard over them): armed."""
        pages = range(addr & ~(PAGE - 1), addr + size, PAGE)
        self._protect(addr, size, prot & ~UC_PROT_WRITE)
        for page in pages:
            self._prot[page] = prot
            self._armed.add(page)

    def unwatch(self, addr: int, size: int) -> None:
        """[addr, addr + size) is given another protection by the caller: not watched."""
        for page in range(addr & ~(PAGE - 1), addr + size, PAGE):
            self._prot.pop(page, None)
            self._armed.discard(page)

    def watch_mapped(self) -> None:
        """Watch every mapped region that is writable and executable (after loading, whose
        code the run's start has checked)."""
        for begin, last, prot in self._uc.mem_regions():
            if prot & UC_PROT_WRITE and prot & UC_PROT_EXEC:
                self.watch(begin, last - begin + 1, prot)

    def before_write(self, addr: int, size: int) -> None:
        """Library code is about to write [addr, addr + size): disarm what it touches."""
        if size <= 0:
            return
        for page in range(addr & ~(PAGE - 1), addr + size, PAGE):
            if page in self._armed:
                self._disarm(page)

    def resolve(self, access: int, addr: int, pc: int,
                step: Callable[[int], None]) -> bool:
        """A protection fault at `addr` (pc: the faulting instruction): True if it was
        this module's doing and the access may be made again; `step(pc)` runs the one
        instruction at pc.  UnsafeCode if a pending page holds code the guard refuses."""
        page = addr & ~(PAGE - 1)
        if page not in self._prot:
            return False
        if access == UC_MEM_FETCH_PROT and page not in self._armed:
            self._arm(page)
            return True
        if access == UC_MEM_WRITE_PROT and page in self._armed:
            if page in (pc & ~(PAGE - 1), (pc + INSTRUCTION_BYTES - 1) & ~(PAGE - 1)):
                # the store's own bytes are on the page: one step with both rights
                self._protect(page, PAGE, self._prot[page])
                try:
                    step(pc)
                finally:
                    self._disarm(page)
            else:
                self._disarm(page)
            return True
        return False

    def _disarm(self, page: int) -> None:
        self._armed.discard(page)
        # The blocks from this page and those from the page before that run into it.  Page
        # by page, and while the page is still executable: Unicorn finds a block by the
        # address of its code in its own RAM blocks, which it looks up only for executable
        # memory, and the pieces of a region mprotect split are separate RAM blocks.
        executable = self._executable_regions()
        for each in (page - PAGE, page):
            if self._executable(each, executable):
                self._uc.ctl_remove_cache(each, each + PAGE)
        self._protect(page, PAGE, self._prot[page] & ~UC_PROT_EXEC)

    def _arm(self, page: int) -> None:
        """Check the page's code with the blocks from the executable page before it (they
        may run into this one) and those that run on from it, then make it executable."""
        executable = self._executable_regions()
        start = page - PAGE if self._executable(page - PAGE, executable) else page
        end = page + PAGE
        while end < page + 3 * PAGE and self._executable(end, executable):
            end += PAGE
        code = bytes(self._uc.mem_read(start, end - start))
        unsafe = translation_guard.first_unsafe(code, self._bits, self.deadline)
        if unsafe is not None:
            raise UnsafeCode(start + unsafe)
        self._protect(page, PAGE, self._prot[page] & ~UC_PROT_WRITE)
        self._armed.add(page)

    def _executable_regions(self) -> dict[int, int]:
        return {begin: last for begin, last, prot in self._uc.mem_regions()
                if prot & UC_PROT_EXEC}

    @staticmethod
    def _executable(page: int, regions: dict[int, int]) -> bool:
        return any(begin <= page <= last for begin, last in regions.items())
