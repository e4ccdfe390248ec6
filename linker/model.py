"""The records that readers produce and the format-neutral core consumes.

Readers (linker/elf, linker/macho) turn bytes into these; after them nothing knows what an
ELF section header or a Mach-O nlist was.  Tables with one row per symbol or relocation are
columnar numpy arrays, so that a link of thousands of objects never builds a Python object
per relocation.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, KeysView, Mapping, Sequence

import numpy as np

from .kinds import Howto
from .records import dataclass, field

# Special values of SymbolTable.section (otherwise an index into ObjectFile.sections).
UNDEF = -1
ABS = -2
COMMON = -3  # value holds the alignment, size the size (ELF SHN_COMMON, Mach-O N_UNDF+value)


class Binding(enum.IntEnum):
    LOCAL = 0
    GLOBAL = 1
    WEAK = 2


class SymType(enum.IntEnum):
    NOTYPE = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4
    TLS = 6
    IFUNC = 10  # STT_GNU_IFUNC: the address is a resolver's result, bound through .iplt


# Members as plain ints, for comparisons with numpy columns: numpy converts an IntEnum
# member (an int subclass) through its generic path, about 5 µs a comparison instead of 1.
TYPE_FUNC, TYPE_SECTION, TYPE_FILE, TYPE_TLS, TYPE_IFUNC = 2, 3, 4, 6, 10
BIND_LOCAL = 0
assert (TYPE_FUNC, TYPE_SECTION, TYPE_FILE, TYPE_TLS, TYPE_IFUNC, BIND_LOCAL) == (
    SymType.FUNC, SymType.SECTION, SymType.FILE, SymType.TLS, SymType.IFUNC, Binding.LOCAL)


class Visibility(enum.IntEnum):
    DEFAULT = 0
    INTERNAL = 1
    HIDDEN = 2
    PROTECTED = 3


class SectionFlags(enum.IntFlag):
    NONE = 0
    ALLOC = 1
    WRITE = 2
    EXEC = 4
    TLS = 8
    MERGE = 16
    STRINGS = 32

    # IntFlag's `in`, `|` and `&` are Python code that type-checks and makes the result
    # through the enum's constructor (up to a µs each); a small link asks some hundreds of
    # them.  The same answers, with the arithmetic done by int and known results looked up.
    def __contains__(self, other: object) -> bool:
        if not isinstance(other, SectionFlags):
            raise TypeError(f"unsupported operand type(s) for 'in': "
                            f"{type(other).__qualname__!r} and 'SectionFlags'")
        return int.__and__(self, other) == other

    def __or__(self, other: object) -> SectionFlags:
        if not isinstance(other, int):
            return NotImplemented
        member = _SECTION_FLAGS.get(int.__or__(self, other))
        return member if member is not None else SectionFlags(int.__or__(self, other))

    def __and__(self, other: object) -> SectionFlags:
        if not isinstance(other, int):
            return NotImplemented
        member = _SECTION_FLAGS.get(int.__and__(self, other))
        return member if member is not None else SectionFlags(int.__and__(self, other))


# value -> member (the enum's own table, which also holds the combinations made so far)
_SECTION_FLAGS: dict[int, SectionFlags] = SectionFlags._value2member_map_  # type: ignore[assignment]


_ALLOCATED: dict[SectionFlags, bool] = {}
_THREAD_LOCAL: dict[SectionFlags, bool] = {}


def is_allocated(flags: SectionFlags) -> bool:
    """`SectionFlags.ALLOC in flags`, remembered per distinct flags value (a few dozen at
    most): IntFlag's `in` costs a microsecond, which loops over every input section of a
    large link pay many times."""
    known = _ALLOCATED.get(flags)
    if known is None:
        known = _ALLOCATED[flags] = SectionFlags.ALLOC in flags
    return known


def is_thread_local(flags: SectionFlags) -> bool:
    """`SectionFlags.TLS in flags`, remembered the same way."""
    known = _THREAD_LOCAL.get(flags)
    if known is None:
        known = _THREAD_LOCAL[flags] = SectionFlags.TLS in flags
    return known


class SectionRole(enum.Enum):
    """What the output needs to know about an input section beyond its flags."""

    NORMAL = "normal"
    ZEROFILL = "zerofill"  # SHT_NOBITS / S_ZEROFILL: occupies memory, not file
    INIT_ARRAY = "init_array"
    FINI_ARRAY = "fini_array"
    PREINIT_ARRAY = "preinit_array"
    EH_FRAME = "eh_frame"
    NOTE = "note"
    # Not loaded but significant to the link (e.g. .note.GNU-stack); never placed.
    MARKER = "marker"
    # Mach-O S_NON_LAZY_SYMBOL_POINTERS an object made itself (i386 `__IMPORT,__pointers`):
    # word slots, each an absolute relocation against the symbol it points to.
    NON_LAZY_POINTERS = "non_lazy_pointers"


RELOC_DTYPE = np.dtype([("offset", "<i8"), ("howto", "<u2"), ("symbol", "<i4"), ("addend", "<i8")])


@dataclass(frozen=True, slots=True)
class RelocTable:
    """The relocations of one input section, one row each, in file order.

    `howto` indexes ObjectFile.howtos; `symbol` indexes the file's SymbolTable; `addend` is
    explicit (a REL or Mach-O reader has already read the implicit addend out of the bytes).
    `subtrahend` (Mach-O SUBTRACTOR pairs, i386 SECTDIFF) is -1 where unused, or None for a
    table with no SUB relocations.
    """

    rows: np.ndarray  # structured, dtype RELOC_DTYPE
    subtrahend: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def empty() -> RelocTable:
        """The one empty table, shared: a link makes one section per input section, and a
        structured zero-length array costs some 15 µs to make.  Nothing writes into it."""
        return _NO_RELOCS


_NO_RELOCS = RelocTable(np.zeros(0, dtype=RELOC_DTYPE))


@dataclass(frozen=True, slots=True)
class SymbolTable:
    """One object file's symbols, columnar.  Row 0 is whatever the format puts there
    (ELF's null symbol); readers keep native indices so that relocations can use them."""

    names: list[str]
    value: np.ndarray  # uint64: offset within section (absolute value for ABS)
    size: np.ndarray  # uint64
    section: np.ndarray  # int32: index into ObjectFile.sections, or UNDEF / ABS / COMMON
    binding: np.ndarray  # uint8: Binding
    type: np.ndarray  # uint8: SymType
    visibility: np.ndarray  # uint8: Visibility

    def __len__(self) -> int:
        return len(self.names)


@dataclass(eq=False, slots=True)
class InputSection:
    """A section of an input object.  Identity matters (eq=False): the core keys tables by it."""

    file: ObjectFile
    index: int  # native section index in its file, for messages
    name: str
    flags: SectionFlags
    role: SectionRole
    align: int
    size: int
    data: bytes | memoryview | None  # None for ZEROFILL
    relocs: RelocTable = field(default_factory=RelocTable.empty)
    comdat: str | None = None  # group signature when the section belongs to a COMDAT group
    entsize: int = 0

    def where(self) -> str:
        return f"{self.file.path}: section {self.name}"


@dataclass(frozen=True, slots=True)
class ComdatGroup:
    signature: str
    sections: tuple[int, ...]  # indices into ObjectFile.sections


@dataclass(slots=True)
class DebugOrigin:
    """Where a Mach-O object's debug information stays.  ld64 leaves the DWARF in the
    objects and writes a debug map (stabs) that names them: the compile unit's directory
    and source file (from its DW_TAG_compile_unit), the object's absolute path (an archive
    member's as `lib.a(member.o)`) and its modification time, which dsymutil compares."""

    directory: str  # with a trailing "/"
    source: str
    path: str = ""
    mtime: int = 0


@dataclass(eq=False, slots=True)
class ObjectFile:
    path: str  # for messages; archive members read "libz.a(inflate.o)"
    arch: str  # "x86_64" or "i386"
    sections: list[InputSection | None]  # indexed by native section index; None: not loaded
    symbols: SymbolTable
    howtos: Sequence[Howto]  # RelocTable.howto indexes this
    groups: list[ComdatGroup] = field(default_factory=list)
    # .note.GNU-stack: False = present without SHF_EXECINSTR; True = executable stack
    # requested; None = absent (the object says nothing).
    exec_stack: bool | None = None
    # Indices of the sections marked SHF_GNU_RETAIN (`__attribute__((retain))`): roots of
    # --gc-sections, as GNU ld keeps them.
    retained: tuple[int, ...] = ()
    # Mach-O objects with a DWARF compile unit: what the output's debug map says of them.
    debug_origin: DebugOrigin | None = None


@dataclass(frozen=True, slots=True)
class DynamicSymbol:
    """A symbol a shared library (or a Mach-O dylib/.tbd) defines."""

    name: str
    type: SymType
    size: int
    weak: bool = False
    version: str | None = None  # default version name (ELF verdef), None when unversioned
    # Address in the library: symbols sharing one are aliases (environ, __environ), and a
    # COPY relocation must move all of them, or the library keeps using its own copy.
    value: int = 0
    # Alignment the object has in the library (its section's, limited by its address): a
    # COPY must keep it, since code may use aligned vector loads on it.  0 = unknown.
    align: int = 0
    # In a zero-fill section (.bss): GNU ld reads such an object as the library's common
    # symbol, which an executable's own common of the same name absorbs; an initialised
    # one (.data) is a real definition, which beats the executable's common.
    nobits: bool = False
    # In an allocated section without SHF_WRITE (.rodata, a const object): a COPY of it
    # goes where -z relro seals it read-only again, as GNU ld places it (.data.rel.ro).
    readonly: bool = False


class LazySymbols(Mapping[str, DynamicSymbol]):
    """A library's exports by name, each record made when it is first asked for.

    libc exports some 3,000 names under some 3,000 versions, of which a program uses a
    handful: making a `DynamicSymbol` for each was most of the time a small link spent
    reading it.  The reader gives the names (in the order a dict of all of them would
    have, with the same last-one-wins rule), each one's row, the rows' types and values
    and a function that makes the record of a row; `index` is made on first use."""

    def __init__(self, index: Callable[[], dict[str, int]], types: Sequence[SymType],
                 values: Sequence[int], make: Callable[[int], DynamicSymbol]) -> None:
        self._build_index: Callable[[], dict[str, int]] | None = index
        self._index: dict[str, int] = {}
        self._types, self._values = types, values
        self._make = make  # the same record for a row each time

    @property
    def rows(self) -> dict[str, int]:
        """name -> row (the reader's numbering)."""
        if self._build_index is not None:
            self._index, self._build_index = self._build_index(), None
        return self._index

    def with_value(self, value: int) -> list[str]:
        """The names whose export is at address `value`, in order."""
        values = self._values
        return [name for name, row in self.rows.items() if values[row] == value]

    def names_of_type(self, kind: SymType) -> list[str]:
        """The names whose export is of type `kind`, in order."""
        types = self._types
        return [name for name, row in self.rows.items() if types[row] is kind]

    def names_not_of_type(self, kind: SymType) -> list[str]:
        """The names whose export is not of type `kind`, in order."""
        types = self._types
        return [name for name, row in self.rows.items() if types[row] is not kind]

    def type_of(self, name: str) -> SymType:
        """The export's type without making its record (KeyError when not exported)."""
        return self._types[self.rows[name]]

    def __getitem__(self, name: str) -> DynamicSymbol:
        return self._make(self.rows[name])

    def get(self, name: str, default: DynamicSymbol | None = None  # type: ignore[override]
            ) -> DynamicSymbol | None:
        return self[name] if name in self.rows else default

    def __contains__(self, name: object) -> bool:
        return name in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def keys(self) -> KeysView[str]:
        """The names as the index's own view: set operations on it run in C (Mapping's
        would iterate in Python, per name, for every dynamic link's export question)."""
        return self.rows.keys()

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class DynamicLibrary:
    path: str
    soname: str  # DT_SONAME, or the file name; Mach-O install name
    symbols: Mapping[str, DynamicSymbol]  # a dict, or ELF's LazySymbols
    as_needed: bool = False
    # Names the library leaves undefined: an executable defining one must export it
    # (a plugin calling back into its host), as GNU ld does.
    undefined: frozenset[str] = frozenset()
    # "name@VERSION" -> symbol, for every versioned export, hidden (non-default) versions
    # included: what an object's `.symver`-pinned reference (memcpy@GLIBC_2.2.5) binds to.
    versioned: Mapping[str, DynamicSymbol] = field(default_factory=dict)
    # Mach-O: (current, compatibility) version from a dylib's LC_ID_DYLIB, which an image
    # linked against it records in its LC_LOAD_DYLIB (1.0.0 when unknown, as for .tbd)
    macho_versions: tuple[int, int] = (0x10000, 0x10000)
    # ELF: the library's DT_AUDIT (linked with --audit), which GNU ld records as the
    # DT_DEPAUDIT of what links against it
    audit: str | None = None


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    name: str
    offset: int  # of the member header in the archive, for messages
    data: memoryview


@dataclass(frozen=True, slots=True)
class Archive:
    path: str
    members: list[ArchiveMember]
    # symbol -> indices of members that define it (from the armap, or built by scanning)
    index: dict[str, list[int]]
