"""The images of one emulated launch: the executable, the dylibs it needs (breadth first),
and later the bundles and dylibs the program opens with dlopen.

Where a dylib is found, for an install name that is not emulated (libSystem, libtrace*):
1. by its basename in the run's library directories (`library_path`: DYLD_LIBRARY_PATH's
   part, which dyld searches by leaf name before anything else);
2. `@rpath/NAME`: in each LC_RPATH of the image that needs it, then of the images that
   loaded that one, down to the executable; `@executable_path/` stands for the
   executable's directory and `@loader_path/` for that image's own.  Only paths under those
   two are tried (a host's absolute directory is never opened as such); an absolute
   run path, like any other install name, is looked up by basename as in 1;
3. `@executable_path/...` and `@loader_path/...` install names, likewise;
4. beside the executable, by basename: a leniency real dyld does not have (many tests keep
   an `@rpath/` dylib there without LC_RPATH); a test of run paths keeps its dylibs in
   another directory.

Each real image is mapped at a page-aligned base drawn from the run's seed (dylib_images),
bound by its own Binder, and takes part in weak coalescing (coalesce.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oracle.emulate.loader import LoadError, read_capped
from oracle.emulate.machine import Machine
from oracle.emulate.macho import image as mi
from oracle.emulate.macho import tlv
from oracle.emulate.macho.binding import Binder, DyldFault, Library
from oracle.emulate.macho.coalesce import coalesce
from oracle.emulate.macho.dylib_images import ImageDylib, Slides, exports, find_dylib, slid
from oracle.emulate.macho.image import MachOError, MachOImage
from oracle.emulate.macho.libraries import dylib_for
from oracle.emulate.memory import UcMemory
from oracle.emulate.process import Process
from oracle.emulate.result import Fault

LC_RPATH = 0x8000001C
MAX_IMAGE = 1 << 28  # a run path may name any regular file: more than this is no image
EXECUTABLE_PATH, LOADER_PATH, RPATH = "@executable_path/", "@loader_path/", "@rpath/"


def _read(path: Path, memory_cap: int) -> bytes:
    """An image file's bytes (a regular file: find() never returns a FIFO or a device),
    refused when larger than the run's memory cap or MAX_IMAGE."""
    try:
        return read_capped(path, min(memory_cap, MAX_IMAGE))
    except LoadError as err:
        raise DyldFault(Fault("load", 0, None, str(err))) from None
    except OSError as err:
        raise MachOError(str(path), f"cannot read: {err.strerror}") from None


def run_paths(img: MachOImage) -> list[str]:
    """The image's LC_RPATH entries, in load-command order."""
    out = []
    for lc in img.commands:
        if lc.cmd != LC_RPATH or lc.size < 12:
            continue
        body = img.bytes_at(lc.offset, lc.size, "LC_RPATH")
        (at,) = struct.unpack_from("<I", body, 8)
        if not 12 <= at < lc.size:
            raise MachOError("LC_RPATH", f"path offset {at} is outside the command")
        out.append(body[at:].split(b"\0", 1)[0].decode("utf-8", "replace"))
    return out


@dataclass
class Loaded:
    """A real image: where it came from (its directory is @loader_path) and who loaded it."""

    dylib: ImageDylib
    directory: Path | None
    parent: Loaded | None
    binder: Binder | None = None
    references: int = 0  # dlopen's count


@dataclass
class ImageLoader:
    machine: Machine
    process: Process
    main: MachOImage
    executable_dir: Path
    search_dirs: list[Path]  # DYLD_LIBRARY_PATH's part (then the executable's directory)
    slides: Slides
    lazy: bool
    map_segments: Callable[[UcMemory, MachOImage], int]  # dyld._map_segments
    check_compatible: Callable[[MachOImage, mi.Dylib], None]  # dyld._check_compatible
    emulated: dict[str, Library] = field(default_factory=dict)
    loaded: dict[str, Loaded] = field(default_factory=dict)
    order: list[Loaded] = field(default_factory=list)  # real images in load order
    executable: ImageDylib | None = None
    main_record: Loaded | None = None
    next_tlv_key: int = tlv.TLV_KEY  # the pthread key the next image with TLVs gets

    def __post_init__(self) -> None:
        self.executable = ImageDylib("<main executable>", self.main, exports(self.main))
        self.main_record = Loaded(self.executable, self.executable_dir, None)

    # -- finding files --

    def _rpath_candidates(self, rest: str, who: Loaded | None) -> list[Path]:
        out: list[Path] = []
        chain = who
        while chain is not None:
            for entry in run_paths(chain.dylib.img):
                base = self._expand(entry, chain)
                if base is not None:
                    out.append(base / rest)
            chain = chain.parent
        return out

    def _expand(self, path: str, who: Loaded | None) -> Path | None:
        if path.startswith(EXECUTABLE_PATH):
            return self.executable_dir / path[len(EXECUTABLE_PATH):]
        if path.rstrip("/") == EXECUTABLE_PATH.rstrip("/"):
            return self.executable_dir
        if path.startswith(LOADER_PATH) or path.rstrip("/") == LOADER_PATH.rstrip("/"):
            here = who.directory if who is not None else self.executable_dir
            return None if here is None else here / path[len(LOADER_PATH):]
        return None

    def find(self, name: str, who: Loaded | None) -> Path | None:
        found = find_dylib(name, self.search_dirs)
        if found is not None:
            return found
        candidates: list[Path] = []
        if name.startswith(RPATH):
            candidates = self._rpath_candidates(name[len(RPATH):], who)
        elif name.startswith((EXECUTABLE_PATH, LOADER_PATH)):
            expanded = self._expand(name, who)
            candidates = [expanded] if expanded is not None else []
        for path in candidates:
            if path.is_file():
                return path
        return find_dylib(name, [self.executable_dir])

    # -- loading --

    def libraries_of(self, record: Loaded, queue: list[Loaded]) -> list[Library]:
        out: list[Library] = []
        img = record.dylib.img
        for lib in img.dylibs:
            name = lib.install_name
            if name in self.loaded:
                self.check_compatible(self.loaded[name].dylib.img, lib)
                out.append(self.loaded[name].dylib)
                continue
            if name in self.emulated:
                out.append(self.emulated[name])
                continue
            fake = dylib_for(name, img.word)
            if fake is not None:
                self.emulated[name] = fake
                out.append(fake)
                continue
            path = self.find(name, record)
            if path is None:
                raise DyldFault(Fault("load", 0, None, (
                    f"{name}: no emulated dylib for this install name, and no file of its "
                    "name in the library directories, the run paths (LC_RPATH) or beside "
                    "the executable")))
            image = self._image(_read(path, self.machine.limits.memory_cap), name,
                                (mi.MH_DYLIB,))
            self.check_compatible(image, lib)
            loaded = self._map(image, name, path, record)
            queue.append(loaded)
            out.append(loaded.dylib)
        return out

    def _image(self, data: bytes, name: str, filetypes: tuple[int, ...]) -> MachOImage:
        image = mi.parse(data)
        if image.filetype not in filetypes:
            raise MachOError(name, f"filetype {image.filetype} is not "
                                   f"{' or '.join(map(str, filetypes))}")
        if image.cputype != self.main.cputype:
            raise MachOError(name, f"cputype {image.cputype:#x} is not the executable's "
                                   f"({self.main.cputype:#x})")
        return image

    def _map(self, image: MachOImage, name: str, path: Path, parent: Loaded | None) -> Loaded:
        image = slid(image, self.slides.place(image))
        self.map_segments(self.machine.mem, image)
        loaded = Loaded(ImageDylib(name, image, exports(image)), path.parent, parent)
        self.loaded[name] = loaded
        self.order.append(loaded)
        return loaded

    def _binders(self, records: list[tuple[Loaded, list[Library]]]) -> list[Binder]:
        """Binders for newly loaded images, deepest first (the order dyld binds them)."""
        assert self.executable is not None
        flat: list[Library] = [self.executable, *self.emulated.values(),
                               *(r.dylib for r in self.order)]
        out = []
        for record, libs in reversed(records):
            binder = Binder(self.machine, self.process, record.dylib.img, libs,
                            executable=self.executable, flat=flat,
                            text_rebases=not record.dylib.img.is64)
            record.binder = binder
            out.append(binder)
        return out

    def load_launch(self) -> list[Binder]:
        """The executable's dylibs; a binder per real image, the dylibs deepest first and
        the executable last."""
        assert self.main_record is not None
        queue: list[Loaded] = []
        main_libraries = self.libraries_of(self.main_record, queue)
        records = [(record, self.libraries_of(record, queue)) for record in queue]
        binders = self._binders(records)
        assert self.executable is not None
        flat: list[Library] = [self.executable, *self.emulated.values(),
                               *(r.dylib for r in self.order)]
        main_binder = Binder(self.machine, self.process, self.main, main_libraries,
                             flat=flat)
        self.main_record.binder = main_binder
        return [*binders, main_binder]

    def coalesce_all(self) -> None:
        records = self.in_load_order()
        coalesce([r.dylib.img for r in records],
                 [r.binder.weak_sites if r.binder else [] for r in records], self._store)

    def in_load_order(self) -> list[Loaded]:
        assert self.main_record is not None
        return [self.main_record, *self.order]

    def _store(self, addr: int, value: int) -> None:
        mem = self.machine.mem
        mem.write_initial(addr, value.to_bytes(self.main.word, "little"))

    # -- dlopen --

    def open(self, path: str) -> Loaded:
        """dlopen(path): the image (a bundle or a dylib), loaded, bound and weakly bound if
        it was not loaded yet.  Raises DyldFault with dlerror's message."""
        assert self.main_record is not None
        known = self.loaded.get(path)
        if known is not None:
            known.references += 1
            return known
        file = self.find(path, self.main_record)
        if file is None:
            raise DyldFault(Fault("load", 0, None, f"dlopen({path}): image not found"))
        for record in self.order:  # the same file under another name
            if record.directory == file.parent and record.dylib.install_name.rsplit(
                    "/", 1)[-1] == file.name:
                record.references += 1
                return record
        try:
            image = self._image(_read(file, self.machine.limits.memory_cap), path,
                                (mi.MH_BUNDLE, mi.MH_DYLIB))
        except MachOError as err:
            raise DyldFault(Fault("load", 0, None, f"dlopen({path}): {err}")) from None
        if any(s.type == 9 for s in image.sections()):  # S_MOD_INIT_FUNC_POINTERS
            raise DyldFault(Fault("load", 0, None, f"dlopen({path}): the emulated dyld runs "
                                  "no initializers of a dlopen'ed image"))
        first = len(self.order)
        opened = self._map(image, path, file, self.main_record)
        queue: list[Loaded] = [opened]
        records = [(record, self.libraries_of(record, queue)) for record in queue]
        for binder in self._binders(records):
            binder.bind_at_load(self.lazy and not binder.img.flags & mi.MH_BIND_AT_LOAD)
        # the new images' weak sites, coalesced over every image loaded so far
        records_all = self.in_load_order()
        new = {id(r) for r in self.order[first:]}
        coalesce([r.dylib.img for r in records_all],
                 [r.binder.weak_sites if r.binder and id(r) in new else []
                  for r in records_all], self._store)
        # their thread-local descriptors, each image with a key of its own, as dyld sets
        # them up for an image it maps at run time
        self.next_tlv_key = tlv.set_up_images(
            self.machine, self.process, [r.dylib.img for r in self.order[first:]],
            self.next_tlv_key)
        opened.references += 1
        return opened
