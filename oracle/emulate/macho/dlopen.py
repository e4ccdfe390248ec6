"""libSystem's dlopen, dlsym, dlclose and dlerror over the emulated dyld's loader: a
program that opens a bundle (or a dylib) at run time gets it loaded as code, slid, bound
and weakly bound (loader.ImageLoader.open), and finds its functions by name.

- dlopen(path, mode): a handle (the image's header address), NULL with dlerror's message
  when the image cannot be found or loaded; a second dlopen of the same image returns the
  same handle.  dlopen(NULL) is the main executable.
- dlsym(handle, name): the export `_name` of that image (RTLD_DEFAULT, -2: of every image
  in load order; RTLD_SELF/RTLD_NEXT are refused), NULL if there is none.
- dlclose(handle): 0, or -1 for a handle dlopen never returned.  The image stays mapped
  (dyld keeps bundles whose code may still be referenced; nothing here unloads).
"""

from __future__ import annotations

import struct

from unicorn import UcError

from oracle.emulate.calls import CallContext, Export
from oracle.emulate.guest import GuestFault
from oracle.emulate.macho.binding import DyldFault
from oracle.emulate.macho.image import MachOError
from oracle.emulate.macho.loader import ImageLoader, Loaded
from oracle.emulate.process import Process

RTLD_DEFAULT = -2
# kept on the process itself (it lives exactly as long as the run): the loader, dlerror's
_LOADER, _ERROR = "macho_image_loader", "macho_dlerror"


def attach(process: Process, loader: ImageLoader) -> None:
    setattr(process, _LOADER, loader)


def _loader(ctx: CallContext) -> ImageLoader | None:
    loader = getattr(ctx.process, _LOADER, None)
    return loader if isinstance(loader, ImageLoader) else None


def _handle(record: Loaded) -> int:
    return record.dylib.img.header_address()


def _fail(ctx: CallContext, message: str) -> int:
    setattr(ctx.process, _ERROR, message.encode())
    return 0


def _dlopen(ctx: CallContext) -> int:
    loader = _loader(ctx)
    path_at = ctx.arg(0)
    if loader is None:
        return _fail(ctx, "dlopen: no loader")
    if path_at == 0:
        assert loader.main_record is not None
        return _handle(loader.main_record)
    path = ctx.mem.read_cstr(path_at).decode("utf-8", "replace")
    try:
        return _handle(loader.open(path))
    except DyldFault as err:
        return _fail(ctx, err.fault.message)
    except MachOError as err:
        return _fail(ctx, f"dlopen({path}): {err}")
    except GuestFault as err:
        return _fail(ctx, f"dlopen({path}): while loading: {err.message}")
    except (UcError, struct.error, ValueError, UnicodeError, IndexError, OverflowError,
            MemoryError) as err:
        return _fail(ctx, f"dlopen({path}): malformed image: {err!r}")


def _record(loader: ImageLoader, handle: int) -> Loaded | None:
    return next((r for r in loader.in_load_order() if _handle(r) == handle), None)


def _dlsym(ctx: CallContext) -> int:
    loader = _loader(ctx)
    handle = ctx.signed(0)
    name = "_" + ctx.mem.read_cstr(ctx.arg(1)).decode("utf-8", "replace")
    if loader is None:
        return _fail(ctx, "dlsym: no loader")
    if handle == RTLD_DEFAULT:
        records = loader.in_load_order()
    else:
        found = _record(loader, ctx.arg(0))
        if found is None:
            return _fail(ctx, f"dlsym({handle:#x}, {name[1:]}): invalid handle")
        records = [found]
    for record in records:
        address = record.dylib.table.get(name)
        if address is not None:
            return address
    return _fail(ctx, f"dlsym: symbol not found: {name[1:]}")


def _dlclose(ctx: CallContext) -> int:
    loader = _loader(ctx)
    record = None if loader is None else _record(loader, ctx.arg(0))
    if loader is None or record is None or (record.references <= 0
                                            and record is not loader.main_record):
        _fail(ctx, "dlclose: invalid handle")
        return -1 & ((1 << 8 * ctx.word) - 1)
    record.references -= 1
    return 0


def _dlerror(ctx: CallContext) -> int:
    message = getattr(ctx.process, _ERROR, None)
    setattr(ctx.process, _ERROR, None)
    if not isinstance(message, bytes):
        return 0
    return ctx.process.object((f"dlerror:{message.hex()}",), message + b"\0").address


DL_EXPORTS = {name: Export(name, arity, impl) for name, arity, impl in (
    ("dlopen", 2, _dlopen), ("dlsym", 2, _dlsym), ("dlclose", 1, _dlclose),
    ("dlerror", 0, _dlerror))}
