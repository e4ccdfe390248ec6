"""Loading the command line's inputs the way GNU ld does.

Inputs are processed in order.  An object is added whole; a shared library adds its
definitions (and becomes DT_NEEDED unless --as-needed and unused); an archive contributes
the members that define a symbol that is undefined *at that point*, repeatedly, until none
does; a --start-group/--end-group range is rescanned until no archive in it adds anything.
`-lNAME` searches the -L directories for libNAME.so (unless -Bstatic) then libNAME.a, and
a file that is neither ELF nor an archive is read as a linker script (GROUP, INPUT, AS_NEEDED).
"""

from __future__ import annotations

import functools
import mmap
import os
from dataclasses import replace

from ..errors import LinkError
from ..input_file import TEXT_LIMIT, read_input_status
from ..model import (
    COMMON,
    UNDEF,
    Archive,
    Binding,
    DynamicLibrary,
    ObjectFile,
    SectionFlags,
    SymType,
)
from ..records import dataclass, field
from ..resolve import SymbolTable
from .archive import member_path, read_archive
from .read import read_object
from .read_bulk import read_objects
from .script import looks_like_script, parse_script
from .shared import read_shared

ELF_MAGIC = b"\x7fELF"
AR_MAGIC = b"!<arch>\n"
LLVM_BITCODE_MAGIC = b"BC\xc0\xde"
# gcc passes -plugin on every link; without the plugin (which linkharness does not run) an
# LTO-only input would link as an empty object and fail later with undefined symbols.
_LTO_HINT = ("{what} (an -flto object): linkharness does not run the LTO plugin; build "
             "without -flto, or with -ffat-lto-objects")
THIN_MAGIC = b"!<thin>\n"
ET_REL, ET_DYN = 1, 3
_ET_REL_LE = ET_REL.to_bytes(2, "little")


@dataclass(frozen=True)
class InputState:
    """The positional flags of GNU ld that --push-state/--pop-state save."""

    as_needed: bool = False
    static: bool = False
    whole_archive: bool = False


# Positional options that set one of InputState's flags.
_STATE_FLAGS: dict[str, dict[str, bool]] = {
    "--as-needed": {"as_needed": True}, "--no-as-needed": {"as_needed": False},
    "-Bstatic": {"static": True}, "-static": {"static": True}, "-dn": {"static": True},
    "-non_shared": {"static": True}, "-Bdynamic": {"static": False},
    "-dy": {"static": False}, "-call_shared": {"static": False},
    "--whole-archive": {"whole_archive": True}, "--no-whole-archive": {"whole_archive": False},
}

# Inputs at least this big are mapped rather than read: an archive is mostly members the
# link never pulls (gcc's libgcc.a is 3 MB, of which a hello link reads the index).
_MAP_AT_LEAST = 1 << 16


def _contents(path: str) -> bytes | mmap.mmap:
    """The file's bytes: a read-only map of a large regular file, else read whole."""
    return _opened(path)[0]


def _opened(path: str) -> tuple[bytes | mmap.mmap, os.stat_result]:
    """`_contents` and the file's status (its identity dedupes shared libraries)."""
    read = read_input_status(path, map_at_least=_MAP_AT_LEAST)
    assert read is not None
    return read


@functools.lru_cache(maxsize=16)
def _read_shared_once(data: bytes, path: str, needed_name: str) -> DynamicLibrary:
    """A shared library's exports, decoded once per (contents, path, DT_NEEDED name): a
    fuzz campaign links the same few libraries thousands of times in one process.  Keyed
    by the bytes themselves, so a rewritten library is decoded afresh; the records are
    never changed after reading (the loader takes a copy with its own as_needed)."""
    return read_shared(memoryview(data), path, needed_name=needed_name)


MAX_SCRIPT_DEPTH = 32  # scripts naming scripts: glibc's libc.so is one level


@dataclass
class Loader:
    symtab: SymbolTable
    arch: str
    library_paths: list[str]
    sysroot: str = ""
    state: InputState = field(default_factory=InputState)
    _stack: list[InputState] = field(default_factory=list)
    _group: list[tuple[Archive, set[int]]] | None = None
    # Shared libraries loaded, by file identity (device, inode): the paths they were named
    # by.  A library is loaded once per real path; only paths of one file can share one.
    _seen_libs: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    # The input `_object_run` read last and did not take (a library, an archive, a
    # script): `path`, which comes to it next, takes its bytes instead of reading it again.
    _peeked: tuple[str, bytes | mmap.mmap, os.stat_result] | None = None
    _data_definitions: dict[tuple[int, int, str], bool] = field(default_factory=dict)
    # Archives read so far, by the path they were named by: gcc's link line names libgcc.a
    # four times (-lgcc twice, and libgcc_s.so's GROUP twice), each a 3 MB read and parse.
    _archives: dict[str, Archive] = field(default_factory=dict)
    # The scripts being expanded, outermost first, by file identity: a script that names
    # itself, directly or through another, would expand for ever.
    _scripts: list[tuple[int, int]] = field(default_factory=list)

    # -- the command line -------------------------------------------------------------------
    def load(self, items: list[str]) -> None:
        n = 0
        while n < len(items):
            run = self._object_run(items, n)
            if len(run) > 1:
                self.objects(run)
                n += len(run)
            elif run:  # one object: what `path` does with it, from the bytes in hand
                self.object(read_object(memoryview(run[0][1]), run[0][0]))
                n += 1
            else:
                self.item(items[n])
                n += 1
        if self._group is not None:
            raise LinkError("--start-group without --end-group")

    def item(self, item: str) -> None:
        s = self.state
        if item.startswith("-l"):
            self.path(self.find_library(item[2:]), from_search=True)
            return
        if not item.startswith("-"):
            self.path(item)
            return
        if item in _STATE_FLAGS:
            self.state = replace(s, **_STATE_FLAGS[item])
        elif item == "--push-state":
            self._stack.append(self.state)
        elif item == "--pop-state":
            if not self._stack:
                raise LinkError("--pop-state without --push-state")
            self.state = self._stack.pop()
        elif item in ("--start-group", "-("):
            if self._group is not None:
                raise LinkError("nested --start-group")
            self._group = []
        elif item in ("--end-group", "-)"):
            if self._group is None:
                raise LinkError("--end-group without --start-group")
            group, self._group = self._group, None
            self._rescan(group)
        elif item.startswith("-l"):
            self.path(self.find_library(item[2:]), from_search=True)
        else:
            self.path(item)

    # -- files ------------------------------------------------------------------------------
    def find_library(self, name: str) -> str:
        if name.startswith(":"):
            candidates = [name[1:]]
        elif self.state.static:
            candidates = [f"lib{name}.a"]
        else:
            candidates = [f"lib{name}.so", f"lib{name}.a"]
        for directory in self.library_paths:
            for cand in candidates:
                path = os.path.join(directory, cand)
                if os.path.isfile(path):
                    return path
        raise LinkError(f"cannot find -l{name} (searched {len(self.library_paths)} "
                        f"directories: {', '.join(self.library_paths[:4])}"
                        f"{'...' if len(self.library_paths) > 4 else ''})")

    def _object_run(self, items: list[str], start: int) -> list[tuple[str, bytes | mmap.mmap]]:
        """The relocatable objects named one after another from items[start] on, with
        their bytes (mapped when large, as `_contents` does): what `objects` can read and
        resolve as one batch.  The regular file that ends the run is kept for `path`."""
        run: list[tuple[str, bytes | mmap.mmap]] = []
        for item in items[start:]:
            if item.startswith("-"):
                break
            peeked = self._peeked
            if peeked is not None and peeked[0] == item:
                break  # read by the run before, and not an object
            try:
                opened = read_input_status(item, _MAP_AT_LEAST, only_regular=True)
            except (OSError, LinkError, MemoryError):
                break  # path() says why, in order
            if opened is None:
                break  # a pipe or a device: read once, by path()
            data, info = opened
            if data[:4] != ELF_MAGIC or data[16:18] != _ET_REL_LE:
                self._peeked = (item, data, info)
                break
            run.append((item, data))
        return run

    def objects(self, run: list[tuple[str, bytes | mmap.mmap]]) -> None:
        """Objects named one after another, read and resolved as one batch when the bulk
        reader takes them all; else one at a time, exactly as `path` would."""
        objs = read_objects([(memoryview(data), path) for path, data in run])
        if objs is None:
            for path, data in run:
                self.object(read_object(memoryview(data), path))
            return
        for n, obj in enumerate(objs):
            if obj.arch != self.arch or _is_slim_lto(obj):
                self.symtab.add_objects(objs[:n])  # those before it, then its error
                self.object(obj)
        self.symtab.add_objects(objs)

    def path(self, path: str, from_search: bool = False, as_needed: bool | None = None) -> None:
        peeked, self._peeked = self._peeked, None
        seen = self._archives.get(path)
        if seen is not None:
            self.archive(seen)
            return
        try:
            data, info = peeked[1:] if peeked is not None and peeked[0] == path \
                else _opened(path)
        except OSError as e:
            raise LinkError(f"cannot read input: {e.strerror}", file=path) from None
        except MemoryError:  # a file of gigabytes, past what this process may allocate
            raise LinkError(f"cannot read input: its {os.path.getsize(path)} bytes do not fit "
                            "in memory", file=path) from None
        needed = self.state.as_needed if as_needed is None else as_needed
        if data[:4] == ELF_MAGIC:
            etype = int.from_bytes(data[16:18], "little") if len(data) >= 18 else 0
            if etype == ET_DYN:
                self.shared(data, path, needed, from_search, (info.st_dev, info.st_ino))
                return
            self.object(read_object(memoryview(data), path))
        elif data[:8] == AR_MAGIC or data[:8] == THIN_MAGIC:
            self._archives[path] = read_archive(memoryview(data), path)
            self.archive(self._archives[path])
        elif data[:4] == LLVM_BITCODE_MAGIC:
            raise LinkError(_LTO_HINT.format(what="LLVM bitcode"), file=path, offset=0)
        elif looks_like_script(data[:4096]):
            if len(data) > TEXT_LIMIT:
                raise LinkError(f"a linker script of {len(data)} bytes (at most {TEXT_LIMIT})",
                                file=path, offset=0)
            self.script(bytes(data).decode("utf-8", "replace"), path, needed,
                        (info.st_dev, info.st_ino))
        else:
            raise LinkError("file format not recognized (not ELF, an archive or a linker "
                            "script)", file=path, offset=0)

    def object(self, obj: ObjectFile) -> None:
        if obj.arch != self.arch:
            raise LinkError(f"object is {obj.arch}, but the link is for {self.arch}",
                            file=obj.path)
        if _is_slim_lto(obj):
            raise LinkError(_LTO_HINT.format(what="GCC LTO bytecode without code"),
                            file=obj.path)
        self.symtab.add_object(obj)

    def shared(self, data: bytes | mmap.mmap, path: str, as_needed: bool, from_search: bool,
               identity: tuple[int, int]) -> None:
        named = self._seen_libs.setdefault(identity, [])
        if named:  # the same file again: skipped when named by the same real path
            real = os.path.realpath(path)
            if any(os.path.realpath(p) == real for p in named):
                return
        named.append(path)
        # Without a DT_SONAME, DT_NEEDED is the name as GNU ld was given it: the file name
        # of a library found by -l, else the path as written (ld.so opens a name holding a
        # slash as a path, so the base name alone would not be found).
        needed_name = os.path.basename(path) if from_search else path
        # A small library is decoded once per contents (the bytes are the cache's key: a
        # fuzz campaign links the same few thousands of times).  A mapped one (64 KiB or
        # more: libc.so.6 is 2 MB) is decoded from the map: copying and hashing its bytes
        # for a key cost a one-link process more than the decoding the cache would save.
        lib = read_shared(memoryview(data), path, needed_name=needed_name) \
            if isinstance(data, mmap.mmap) else _read_shared_once(data, path, needed_name)
        self.symtab.add_library(replace(lib, as_needed=as_needed), every_name=False)

    def archive(self, archive: Archive) -> None:
        loaded: set[int] = set()
        if self.state.whole_archive:
            for n in range(len(archive.members)):
                self.symtab.archive_pulls.append(
                    (member_path(archive, archive.members[n]), "--whole-archive", ""))
                self._load_member(archive, n, loaded)
        else:
            self._pull(archive, loaded)
        if self._group is not None:
            self._group.append((archive, loaded))

    def _pull(self, archive: Archive, loaded: set[int]) -> bool:
        """Load members that define currently undefined symbols, until none does."""
        by_name = self.symtab.by_name
        added = False
        progress = True
        while progress:
            progress = False
            for name, members in archive.index.items():
                sym = by_name.get(name)
                if sym is None:
                    continue
                if sym.common and sym.file is not None:
                    # GNU ld pulls a member for a COMMON symbol only when the member
                    # defines it for real: a global, initialised, non-function definition
                    # (a member with one more COMMON copy stays out).
                    found = [m for m in members if m not in loaded
                             and self._defines_data(archive, m, name)]
                    if not found:
                        continue
                    n = found[0]
                elif not sym.strong_ref or not sym.undefined:
                    continue
                else:
                    n = members[0]
                if n in loaded:
                    continue
                self.symtab.archive_pulls.append(  # for the text map: what pulled it
                    (member_path(archive, archive.members[n]),
                     sym.referrers[0] if sym.referrers else "", name))
                self._load_member(archive, n, loaded)
                progress = added = True
        return added

    def _defines_data(self, archive: Archive, n: int, name: str) -> bool:
        """Does member `n` define `name` as GNU ld's is_global_data_symbol_definition
        asks: STB_GLOBAL, not STT_FUNC, in a section (not undefined, not COMMON)?"""
        key = (id(archive), n, name)
        known = self._data_definitions.get(key)
        if known is None:
            member = archive.members[n]
            t = read_object(member.data, member_path(archive, member)).symbols
            known = any(t.names[i] == name and t.binding[i] == Binding.GLOBAL
                        and t.type[i] != SymType.FUNC and t.section[i] not in (UNDEF, COMMON)
                        for i in range(len(t.names)))
            self._data_definitions[key] = known
        return known

    def _load_member(self, archive: Archive, n: int, loaded: set[int]) -> None:
        loaded.add(n)
        member = archive.members[n]
        self.object(read_object(member.data, member_path(archive, member)))

    def _rescan(self, group: list[tuple[Archive, set[int]]]) -> None:
        progress = True
        while progress:
            progress = False
            for archive, loaded in group:
                if self._pull(archive, loaded):
                    progress = True

    def script(self, text: str, path: str, as_needed: bool,
               identity: tuple[int, int] = (-1, -1)) -> None:
        if identity in self._scripts:
            raise LinkError("linker script names itself (directly or through another "
                            "script)", file=path)
        if len(self._scripts) >= MAX_SCRIPT_DEPTH:
            raise LinkError(f"linker scripts nested more than {MAX_SCRIPT_DEPTH} deep",
                            file=path)
        self._scripts.append(identity)
        try:
            self._expand_script(text, path, as_needed)
        finally:
            self._scripts.pop()

    def _expand_script(self, text: str, path: str, as_needed: bool) -> None:
        items = parse_script(text, path)
        group = [i for i in items if i.in_group]
        plain = [i for i in items if not i.in_group]
        for it in plain:
            self._script_input(it.name, path, as_needed or it.as_needed)
        if group:
            outer, self._group = self._group, []
            for it in group:
                self._script_input(it.name, path, as_needed or it.as_needed)
            inner, self._group = self._group, outer
            self._rescan(inner)
            if outer is not None:
                outer.extend(inner)

    def _script_input(self, name: str, script_path: str, as_needed: bool) -> None:
        if name.startswith("-l"):
            try:
                found = self.find_library(name[2:])
            except LinkError as e:  # said of the script, which is the input that asked
                raise LinkError(f"{e.rule}, named by the linker script",
                                file=script_path) from None
            self.path(found, as_needed=as_needed)
            return
        candidates = []
        if name.startswith("="):  # GNU ld: a path under the sysroot
            name = self.sysroot.rstrip("/") + "/" + name[1:].lstrip("/") if self.sysroot \
                else name[1:]
            candidates.append(name)
        elif os.path.isabs(name):
            if self.sysroot:
                candidates.append(self.sysroot + name)
            candidates.append(name)
        else:
            candidates.append(os.path.join(os.path.dirname(script_path), name))
            candidates += [os.path.join(d, name) for d in self.library_paths]
            candidates.append(name)
        for cand in candidates:
            if os.path.isfile(cand):
                self.path(cand, as_needed=as_needed)
                return
        raise LinkError(f"cannot find {name} named by the linker script", file=script_path)


def _is_slim_lto(obj: ObjectFile) -> bool:
    """A GCC -flto object holding only bytecode: it defines the marker __gnu_lto_slim
    (gcc >= 10), or the older __gnu_lto_v1 and no code at all."""
    names = obj.symbols.names
    if "__gnu_lto_slim" in names:
        return True
    return "__gnu_lto_v1" in names and not any(
        sec is not None and SectionFlags.EXEC in sec.flags and sec.size
        for sec in obj.sections)
