"""Workload A, "many objects": a static link and a crt-less dynamic link against libc.so.6.

Both variants link the same objects m*.o; the dynamic one adds the import objects i*.o
and its own `_start` that calls their g<m> too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench import libc_imports, many_objects
from bench.libc_imports import DYNAMIC_LINKER, LIBC, generate_imports
from bench.many_objects import EXIT_OK, ManyObjectsParams, checksum, generate, start_object
from bench.object_cache import Source, cached_inputs
from bench.workload import Workload

IMPORT_EDGES_PER_OBJECT = 20
GENERATORS = (Path(many_objects.__file__), Path(libc_imports.__file__), Path(__file__))


def import_objects(params: ManyObjectsParams) -> int:
    """One import object per hundred ordinary ones: imports are a seasoning, not the meal."""
    return max(1, params.objects // 100)


def _make(params: ManyObjectsParams) -> tuple[list[Source], dict[str, object]]:
    objects = generate(params)
    imports = generate_imports(import_objects(params), IMPORT_EDGES_PER_OBJECT, params.seed)
    start = start_object("start", [f"f{i}" for i in range(params.objects)], checksum(objects))
    start_dyn = start_object(
        "start_dyn",
        [f"f{i}" for i in range(params.objects)] + [f"g{m}" for m in range(len(imports))],
        checksum(objects + imports),
    )
    files = [*objects, *imports, start, start_dyn]
    manifest = {
        "objects": [f.stem + ".o" for f in objects],
        "imports": [f.stem + ".o" for f in imports],
        "relocs": sum(f.relocs for f in objects) + start.relocs,
        "import_relocs": sum(f.relocs for f in imports) + start_dyn.relocs - start.relocs,
    }
    return [Source(f.stem + ".s", f.text) for f in files], manifest


def many_workloads(root: Path, params: ManyObjectsParams, jobs: int | None = None
                   ) -> list[Workload]:
    """The static and the dynamic variant of workload A, their objects built or cached."""
    key = {"workload": "many-objects", **dataclasses.asdict(params),
           "import_edges": IMPORT_EDGES_PER_OBJECT}
    cached = cached_inputs(root, "many", key, GENERATORS, lambda: _make(params), jobs)
    m = cached.manifest
    objects: list[str] = m["objects"]
    imports: list[str] = m["imports"]
    static = Workload(
        name="many-static",
        description=f"{len(objects)} objects, no libc, -static",
        directory=cached.directory,
        args=("-e", "_start", "-static", "start.o", *objects),
        expected_status=EXIT_OK,
        objects=len(objects) + 1,
        relocs=m["relocs"],
    )
    dynamic = Workload(
        name="many-dynamic",
        description=f"{len(objects)} + {len(imports)} objects, crt-less, libc.so.6 imports",
        directory=cached.directory,
        args=("-e", "_start", "-dynamic-linker", DYNAMIC_LINKER, "start_dyn.o", *objects,
              *imports, LIBC),
        expected_status=EXIT_OK,
        objects=len(objects) + len(imports) + 1,
        relocs=m["relocs"] + m["import_relocs"],
    )
    return [static, dynamic]


def many_debug_workload(root: Path, params: ManyObjectsParams, jobs: int | None = None
                        ) -> Workload:
    """Workload A's static link with every object assembled with DWARF 5 (`as --gdwarf-5`):
    debug sections are most of a `-g` build's input bytes and relocations."""
    key = {"workload": "many-objects", **dataclasses.asdict(params),
           "import_edges": IMPORT_EDGES_PER_OBJECT}
    cached = cached_inputs(root, "many-g", key, GENERATORS, lambda: _make(params), jobs,
                           debug=True)
    objects: list[str] = cached.manifest["objects"]
    return Workload(
        name="many-static-g",
        description=f"{len(objects)} objects with DWARF 5, no libc, -static",
        directory=cached.directory,
        args=("-e", "_start", "-static", "start.o", *objects),
        expected_status=EXIT_OK,
        objects=len(objects) + 1,
        relocs=cached.manifest["relocs"],
    )
