"""Code the guest writes while it runs: memory it may both write and execute (an RWX
PT_LOAD, as `ld -N` makes one, or an mprotect asking for PROT_WRITE|PROT_EXEC).

The translation guard (translation_guard.py) checks code before Unicorn may translate
it: at a run's start and when mprotect makes memory executable.  Bytes written later into
writable code escaped it, and a straight line of x87 register forms written there and
jumped to crashed the process.  So each page of such memory is in one of three states:

  armed    read+exec in Unicorn: its bytes have been checked.  A store into it faults
           (write-protected); the page is disarmed and the store made again, or, if the
           storing instruction lies on that page, opened.
  pending  read+write in Unicorn: written since its last check.  A fetch from it faults
           (fetch-protected); the page (with the blocks that may run into it from the page
           before) is checked, armed, and the fetch made again, or the run stops with the
           guard's fault if the new code is code Unicorn cannot translate.
  open     read+write+exec, with a write hook on the page: code that stores into its own
           page (the page where `ld -N` puts the end of .text and the start of .data)
           would otherwise fault on every store and every fetch after it.  The hook sees
           each store's bytes before they land.  Where no window of the code around the
           page weighs the guard's LIMIT (translation_guard.crowded: ordinary code), a
           store that raises no instruction's weight (most stores: none of its bytes, nor
           the two before, can begin a weighed instruction) cannot make the code worse.
           Any other store has the code around the page checked as it will be: code the
           guard refuses ends the run with its fault at once (the hook cannot stop the
           CPU between that store and the next translation).

Unicorn drops the blocks a guest store writes over (x86 runs the bytes as they are now),
but not those under a write of library code (read(2) into a buffer, memcpy, ...): that
write disarms or closes the pages it touches first (Machine hooks UcMemory's writes), and
disarming drops the page's blocks.

Counting instructions (a budget): Unicorn tells no count for a slice a fault or a stop
cut short, so a cut slice counts whole, and a program with writable code runs in slices
of WRITABLE_CODE_SLICE (machine.py): its count is over by less than that per fault of
this module's, the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from unicorn import (
    UC_HOOK_MEM_WRITE,
    UC_MEM_FETCH_PROT,
    UC_MEM_WRITE_PROT,
    UC_PROT_EXEC,
    UC_PROT_WRITE,
    Uc,
    UcError,
)

from oracle.emulate import translation_guard

PAGE = 0x1000
INSTRUCTION_BYTES = 15  # the longest x86 instruction: a store's own bytes may span pages
_VALUE_BYTES = 8  # a write hook's value holds a store of up to this many bytes


class UnsafeCode(Exception):
    """Code written at run time that Unicorn cannot translate safely, at `address`."""

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.address = address


class WritableCode:
    """The pages of one run the guest may write and execute, and their states."""

    def __init__(self, uc: Uc, protect: Callable[[int, int, int], None], bits: int,
                 refuse: Callable[[int], None]) -> None:
        self._uc = uc
        self._protect = protect  # Cpu.protect: notes executable ranges for the next run
        self._bits = bits
        self._weighed = translation_guard.weighed_first_bytes(bits)
        self._refuse = refuse  # ends the run: unsafe code at the address given
        self._prot: dict[int, int] = {}  # page -> the guest's protection (with W and X)
        self._armed: set[int] = set()
        self._open: dict[int, int] = {}  # page -> its write hook
        # page -> whether a window of the code around it weighs the guard's LIMIT (as last
        # computed; a write that raises no weight cannot change it from False)
        self._crowded: dict[int, bool] = {}
        self.deadline = math.inf

    def __bool__(self) -> bool:
        return bool(self._prot)

    def watch(self, addr: int, size: int, prot: int) -> None:
        """[addr, addr + size) is now the guest's writable code, its bytes checked (the
        caller ran the guard over them): armed."""
        self.unwatch(addr, size)
        self._protect(addr, size, prot & ~UC_PROT_WRITE)
        for page in range(addr & ~(PAGE - 1), addr + size, PAGE):
            self._prot[page] = prot
            self._armed.add(page)

    def unwatch(self, addr: int, size: int) -> None:
        """[addr, addr + size) is given another protection by the caller: not watched."""
        for page in range(addr & ~(PAGE - 1), addr + size, PAGE):
            self._prot.pop(page, None)
            self._armed.discard(page)
            hook = self._open.pop(page, None)
            if hook is not None:
                self._uc.hook_del(hook)

    def watch_mapped(self) -> None:
        """Watch every mapped region that is writable and executable (after loading, whose
        code the run's start has checked)."""
        for begin, last, prot in self._uc.mem_regions():
            if prot & UC_PROT_WRITE and prot & UC_PROT_EXEC:
                self.watch(begin, last - begin + 1, prot)

    def close(self) -> None:
        """The run is over: its write hooks go (the CPU serves other runs)."""
        for hook in self._open.values():
            self._uc.hook_del(hook)
        self._open.clear()

    def before_write(self, addr: int, data: bytes) -> None:
        """Library code is about to write `data` at `addr` (Unicorn sees no such write):
        into executable pages, the code it makes is judged as a store's is, and the
        blocks it writes over are dropped.  Protections stay: changing them from a hook
        would stop the CPU."""
        end = addr + len(data)
        touched = [page for page in range(addr & ~(PAGE - 1), end, PAGE)
                   if page in self._armed or page in self._open]
        if not touched:
            return
        self._judge(addr, data)
        for page in touched:
            self._uc.ctl_remove_cache(max(addr, page), min(end, page + PAGE))

    def resolve(self, access: int, addr: int, pc: int) -> bool:
        """A protection fault at `addr` (pc: the faulting instruction): True if it was
        this module's doing and the access may be made again.  UnsafeCode if a pending
        page holds code the guard refuses."""
        page = addr & ~(PAGE - 1)
        if page not in self._prot:
            return False
        if access == UC_MEM_WRITE_PROT and page in self._armed:
            own = (pc & ~(PAGE - 1), (pc + INSTRUCTION_BYTES - 1) & ~(PAGE - 1))
            if page in own:
                self._open_page(page)
            else:
                self._disarm(page)
            return True
        if access == UC_MEM_FETCH_PROT and page not in self._armed and page not in self._open:
            self._arm(page)
            return True
        return False

    def _open_page(self, page: int) -> None:
        self._armed.discard(page)
        self._protect(page, PAGE, self._prot[page])
        self._open[page] = self._uc.hook_add(UC_HOOK_MEM_WRITE, self._on_store,
                                             begin=page, end=page + PAGE - 1)

    def _on_store(self, uc: Uc, access: int, addr: int, size: int, value: int,
                  data: object) -> None:
        """A guest store into an open page, before it lands."""
        if size > _VALUE_BYTES:  # QEMU stores 8 bytes at a time: its bytes are not known
            self._refuse(addr)
            return
        self._judge(addr, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))

    def _judge(self, addr: int, new: bytes) -> None:
        """`new` is about to be written at `addr`, into executable memory: harmless if it
        raises no instruction's weight (most writes) around code no window of which
        weighs the guard's LIMIT; else the code around it is checked as it will be, and
        code the guard refuses ends the run."""
        first, last = addr & ~(PAGE - 1), (addr + len(new) - 1) & ~(PAGE - 1)
        if not any(self._is_crowded(page) for page in range(first, last + 1, PAGE)):
            if self._weighed.isdisjoint(new) and not self._weighed_before(addr):
                return  # no byte that begins a weighed instruction
            try:
                old = bytes(self._uc.mem_read(addr - 2, len(new) + 4))
            except UcError:
                old = b""  # at the edge of mapped memory: the whole check decides
            if old and not translation_guard.weights_rise(
                    old, old[:2] + new + old[2 + len(new):], self._bits):
                return
        start, _ = self._window(first)
        _, end = self._window(last)
        code = bytearray(self._uc.mem_read(start, end - start))
        code[addr - start:addr - start + len(new)] = new[:max(0, end - addr)]
        try:
            unsafe = translation_guard.first_unsafe(bytes(code), self._bits, self.deadline)
        except translation_guard.GuardTimeout:
            unsafe = addr - start
        if unsafe is not None:
            self._refuse(start + unsafe)
        self._forget_crowding(start, end)

    def _is_crowded(self, page: int) -> bool:
        crowded = self._crowded.get(page)
        if crowded is None:
            start, end = self._window(page)
            crowded = self._crowded[page] = translation_guard.crowded(
                bytes(self._uc.mem_read(start, end - start)), self._bits)
        return crowded

    def _forget_crowding(self, start: int, end: int) -> None:
        """The code in [start, end) changed, or may have: windows reaching it weigh anew."""
        for page in range(start - PAGE, end + PAGE, PAGE):
            self._crowded.pop(page, None)

    def _weighed_before(self, addr: int) -> bool:
        try:
            return not self._weighed.isdisjoint(bytes(self._uc.mem_read(addr - 2, 2)))
        except UcError:
            return True

    def _disarm(self, page: int) -> None:
        """Make the page writable and not executable, its blocks dropped (they may be
        translated from bytes about to change)."""
        self._armed.discard(page)
        hook = self._open.pop(page, None)
        if hook is not None:
            self._uc.hook_del(hook)
        # The blocks from this page and those from the page before that run into it.  Page
        # by page, and while the page is still executable: Unicorn finds a block by the
        # address of its code in its own RAM blocks, which it looks up only for executable
        # memory, and the pieces of a region mprotect split are separate RAM blocks.
        executable = self._executable_regions()
        for each in (page - PAGE, page):
            if self._executable(each, executable):
                self._uc.ctl_remove_cache(each, each + PAGE)
        self._protect(page, PAGE, self._prot[page] & ~UC_PROT_EXEC)
        self._forget_crowding(page, page + PAGE)

    def _arm(self, page: int) -> None:
        """Check the page's code with the blocks from the executable page before it (they
        may run into this one) and those that run on from it, then make it executable."""
        start, end = self._window(page)
        code = bytes(self._uc.mem_read(start, end - start))
        unsafe = translation_guard.first_unsafe(code, self._bits, self.deadline)
        if unsafe is not None:
            raise UnsafeCode(start + unsafe)
        self._protect(page, PAGE, self._prot[page] & ~UC_PROT_WRITE)
        self._armed.add(page)
        self._forget_crowding(page, page + PAGE)  # its neighbours' windows reach it now

    def _window(self, page: int) -> tuple[int, int]:
        """The code whose blocks may cover the page: from the executable page before it
        (its blocks may run into this one) to where blocks from this page may end."""
        executable = self._executable_regions()
        start = page - PAGE if self._executable(page - PAGE, executable) else page
        end = page + PAGE
        while end < page + 3 * PAGE and self._executable(end, executable):
            end += PAGE
        return start, end

    def _executable_regions(self) -> dict[int, int]:
        return {begin: last for begin, last, prot in self._uc.mem_regions()
                if prot & UC_PROT_EXEC}

    @staticmethod
    def _executable(page: int, regions: dict[int, int]) -> bool:
        return any(begin <= page <= last for begin, last in regions.items())
