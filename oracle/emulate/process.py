"""The per-run state of the emulated C runtime: output streams, stdin, atexit handlers,
the emulated libraries' data objects, the heap and the program break.

One Process per run, created by the loader and reached by library functions through
`CallContext.process`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from unicorn import UC_PROT_READ, UC_PROT_WRITE

from oracle.emulate.files import EBADF, ENOSPC, MemoryFiles, OpenFile
from oracle.emulate.guest import GuestFault

if TYPE_CHECKING:
    from oracle.emulate.dynamic import Dynamic
    from oracle.emulate.libc.heap import Heap
    from oracle.emulate.libc.rand import GlibcRand
    from oracle.emulate.machine import Machine
    from oracle.emulate.thread import StaticTls

BUFSIZ = 4096  # glibc's buffer for a pipe: stdout is flushed when this much is pending
FULL, LINE, UNBUFFERED = 0, 1, 2  # setvbuf's _IOFBF, _IOLBF, _IONBF
IO_EOF_SEEN = 0x10  # the bit of a FILE's _flags that feof tests


@dataclass
class DataObject:
    """A library data object.  Mutable on purpose: a COPY relocation moves it into the
    executable, after which the library (like glibc) uses the executable's copy."""

    names: tuple[str, ...]
    address: int
    size: int


@dataclass(frozen=True)
class AtExit:
    """A handler registered with atexit or __cxa_atexit (dso: its DSO handle)."""

    function: int
    args: tuple[int, ...]
    dso: int = 0


@dataclass
class Process:
    machine: Machine
    data_base: int
    data_size: int
    heap_base: int
    memory_cap: int
    stdin: bytes = b""
    out: dict[int, bytearray] = field(default_factory=lambda: {1: bytearray(), 2: bytearray()})
    pending: dict[int, bytearray] = field(default_factory=lambda: {1: bytearray(), 2: bytearray()})
    buffering: dict[int, int] = field(default_factory=lambda: {1: FULL, 2: UNBUFFERED})
    signal_handlers: dict[int, tuple[int, int]] = field(default_factory=dict)
    stdin_pos: int = 0
    stdin_buffer: bytearray = field(default_factory=bytearray)
    atexit: list[AtExit] = field(default_factory=list)
    # what exit() runs before the atexit handlers: libSystem's _tlv_exit (the calling
    # thread's thread_local destructors), a generator of guest calls given the CallContext
    before_exit: list[Callable[[Any], Iterator[Any]]] = field(default_factory=list)
    objects: dict[str, DataObject] = field(default_factory=dict)
    streams: dict[int, int] = field(default_factory=dict)  # FILE* -> file descriptor
    program: Dynamic | None = None
    tls: StaticTls | None = None
    library_finis: list[Dynamic] = field(default_factory=list)  # real libraries, fini order
    argc: int = 0
    argv: int = 0
    envp: int = 0
    brk_start: int = 0
    brk: int = 0
    brk_mapped: int = 0
    allocated: int = 0
    files_held: int = 0  # the part of `allocated` that is the in-memory files' bytes
    _data_next: int = 0
    heap: Heap | None = None
    _rand: GlibcRand | None = None
    files: MemoryFiles = field(default_factory=MemoryFiles)  # this run's file system
    open_files: dict[int, OpenFile] = field(default_factory=dict)  # descriptor -> file
    free_files: list[int] = field(default_factory=list)  # FILE structures fclose freed
    # clock()'s zero: this thread's CPU clock (the guest runs on it).  The process clock sums
    # every thread's, and reading it while the watchdog thread runs on the other CPU cost
    # 40-100 us at load 12, a twentieth of a fuzz example's two runs; this one is 0.3 us.
    cpu_started: float = field(default_factory=time.thread_time)
    stdin_eof: bool = False
    # per-run state of library modules that glibc keeps in static variables, by module
    # (getopt's position inside argv)
    state: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._data_next = self.data_base
        self.machine.mem.map(self.data_base, self.data_size, UC_PROT_READ | UC_PROT_WRITE)
        if self.machine.limits.files_from is not None:
            self.files = MemoryFiles.seeded(self.machine.limits.files_from)

    # -- library data --

    def alloc_data(self, size: int, align: int = 16) -> int:
        """Space in the libraries' data region (objects, FILE structures, scratch)."""
        addr = self.reserve_data(size, align)
        self._data_next = addr + max(size, 1)
        return addr

    def reserve_data(self, size: int, align: int = 16) -> int:
        """Where `size` bytes would go in the libraries' data region; a fault now if they
        cannot fit (before a library spends time making an object's initial bytes)."""
        addr = (self._data_next + align - 1) & ~(align - 1)
        if addr + size > self.data_base + self.data_size:
            raise GuestFault(addr, "emulated libraries' data region exhausted")
        return addr

    def object(self, names: tuple[str, ...], content: bytes) -> DataObject:
        """The data object called any of `names`, created with `content` on first use."""
        existing = self.objects.get(names[0])
        if existing is not None:
            return existing
        obj = DataObject(names, self.alloc_data(len(content)), len(content))
        self.machine.mem.write(obj.address, content)
        for name in names:
            self.objects[name] = obj
        return obj

    def object_address(self, name: str) -> int:
        obj = self.objects.get(name)
        if obj is None:
            raise GuestFault(0, f"library object {name} does not exist")
        return obj.address

    # -- output --

    def write_fd(self, fd: int, data: bytes) -> int:
        """write(2): unbuffered; stdout's pending stdio buffer goes first only if flushed."""
        opened = self.open_files.get(fd)
        if opened is not None:
            before = len(opened.data)
            written = opened.write(data)
            self.hold_file_bytes(len(opened.data) - before)
            if written >= 0:
                return written
            # (the file system is full past MAX_FILE_BYTES; else the file is read-only)
            return -ENOSPC if opened.writable else -EBADF
        if fd not in self.out:
            return -EBADF
        self.hold_output(len(data))
        self.out[fd] += data
        return len(data)

    def hold_output(self, amount: int) -> None:
        """What the guest writes out (stdout, stderr, its in-memory files) is held in the
        host's memory until the run ends, so it counts against the run's memory cap with
        its allocations: a guest writing 1 MiB to stdout in a loop once grew the host by
        2 GiB under a 32 MiB cap, past its time limit too."""
        if amount > 0 and not self.grow(amount):
            raise GuestFault(0, f"output past the run's memory cap ({self.memory_cap} bytes)")

    def hold_file_bytes(self, amount: int) -> None:
        """hold_output for an in-memory file's growth; what the file system let go since
        (a file truncated, or removed while no descriptor holds it) is given back first,
        so a program that rewrites one file in a loop stays within the cap as it does
        natively."""
        freed = min(self.files.freed, self.files_held)
        self.files.freed = 0
        self.allocated -= freed
        self.files_held -= freed
        self.hold_output(amount)
        self.files_held += max(amount, 0)

    def file_in_use(self, data: bytearray) -> bool:
        """Whether an open descriptor holds these bytes (an unlinked file lives on)."""
        return any(opened.data is data for opened in self.open_files.values())

    def stdio_write(self, fd: int, data: bytes) -> None:
        """Output through a FILE: stdout is fully buffered (as on a pipe), stderr is not,
        unless setvbuf said otherwise; a file's FILE writes through (its buffer is not
        observable: nothing else sees the in-memory file until the run ends)."""
        opened = self.open_files.get(fd)
        if opened is not None:
            before = len(opened.data)
            opened.write(data)
            self.hold_file_bytes(len(opened.data) - before)
            return
        mode = self.buffering.get(fd, FULL)
        pending = self.pending.setdefault(fd, bytearray())
        pending += data
        if mode == UNBUFFERED or len(pending) >= BUFSIZ:
            self.flush(fd)
        elif mode == LINE and b"\n" in data:
            cut = pending.rfind(b"\n") + 1
            self.write_fd(fd, bytes(pending[:cut]))
            del pending[:cut]

    def flush(self, fd: int | None = None) -> None:
        """Write out what stdio holds for `fd` (every stream when None)."""
        for each in ([fd] if fd is not None else list(self.pending)):
            pending = self.pending.get(each)
            if pending:
                self.write_fd(each, bytes(pending))
                pending.clear()

    def ensure_heap(self) -> Heap:
        """The heap, mapped when first touched (most programs under test never allocate)."""
        if self.heap is None:
            from oracle.emulate.libc.heap import Heap

            word = self.machine.abi.word
            self.machine.mem.map_lazily(self.heap_base, self.memory_cap,
                                        UC_PROT_READ | UC_PROT_WRITE)
            self.heap = Heap(self.machine.mem, self.heap_base, self.memory_cap,
                             align=16 if word == 8 else 8)
        return self.heap

    def rand(self) -> GlibcRand:
        """rand()'s generator, seeded with 1 when first used (as glibc's)."""
        if self._rand is None:
            from oracle.emulate.libc.rand import GlibcRand

            self._rand = GlibcRand()
        return self._rand

    def stdio_read(self, size: int, *, line: bool = False) -> bytes:
        """Read through stdin's FILE: like glibc on a pipe, the buffer is refilled with up
        to BUFSIZ bytes of the raw input at a time (which read(0) then no longer sees).
        With `line`, stop after the first newline."""
        out = bytearray()
        while len(out) < size:
            if not self.stdin_buffer:
                self.stdin_buffer += self.read_stdin(BUFSIZ)
                if not self.stdin_buffer:
                    break
            want = size - len(out)
            if line:
                newline = self.stdin_buffer.find(b"\n", 0, want)
                if newline >= 0:
                    want = newline + 1
            out += self.stdin_buffer[:want]
            del self.stdin_buffer[:want]
            if line and out.endswith(b"\n"):
                break
        if len(out) < size and not (line and out.endswith(b"\n")):
            self.set_stdin_eof(True)
        return bytes(out)

    def set_stdin_eof(self, eof: bool) -> None:
        """Record (or clear) stdin's end of file, in its FILE's _flags too
        (_IO_EOF_SEEN): glibc's inline feof_unlocked reads the flag, and gnulib's
        getndelim2 callers (cut) take a -1 without it for memory exhausted."""
        if eof == self.stdin_eof:
            return
        self.stdin_eof = eof
        for stream, fd in self.streams.items():
            if fd == 0:
                flags = int.from_bytes(self.machine.mem.read(stream, 4), "little")
                flags = flags | IO_EOF_SEEN if eof else flags & ~IO_EOF_SEEN
                self.machine.mem.write(stream, flags.to_bytes(4, "little"))

    def stream_read(self, fd: int, size: int, *, line: bool = False) -> bytes:
        """Read through the FILE of descriptor `fd`: stdin's buffer or an open file."""
        if fd == 0:
            return self.stdio_read(size, line=line)
        opened = self.open_files.get(fd)
        return opened.read(size, line=line) if opened is not None else b""

    def read_stdin(self, size: int) -> bytes:
        data = self.stdin[self.stdin_pos : self.stdin_pos + size]
        self.stdin_pos += len(data)
        return data

    # -- memory growth --

    def grow(self, amount: int) -> bool:
        """Account `amount` more bytes of guest allocation against the memory cap."""
        if self.allocated + amount > self.memory_cap:
            return False
        self.allocated += amount
        return True
