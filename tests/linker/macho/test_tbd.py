"""linker.macho.tbd: tapi v3/v4 stubs, --import, the embedded libSystem."""

from __future__ import annotations

import pytest

from linker.errors import LinkError
from linker.macho.tbd import default_libsystem, imports_as_libraries, read_tbd

V4 = """--- !tapi-tbd
tbd-version: 4
targets: [ x86_64-macos, arm64-macos ]
install-name: '/usr/lib/libfoo.dylib'
exports:
  - targets: [ x86_64-macos ]
    symbols: [ _foo, _bar ]
    weak-symbols: [ _weakly ]
  - targets: [ arm64-macos ]
    symbols: [ _arm_only ]
...
--- !tapi-tbd
tbd-version: 4
targets: [ x86_64-macos ]
install-name: '/usr/lib/system/libsub.dylib'
exports:
  - targets: [ x86_64-macos ]
    symbols: [ _sub ]
...
"""

V3 = """--- !tapi-tbd-v3
archs: [ x86_64 ]
platform: macosx
install-name: /usr/lib/libold.dylib
exports:
  - archs: [ x86_64 ]
    symbols: [ _old ]
    weak-def-symbols: [ _w ]
...
"""


def test_v4_per_target_and_documents() -> None:
    libs = read_tbd(V4, "foo.tbd")
    assert [lib.soname for lib in libs] == ["/usr/lib/libfoo.dylib", "/usr/lib/system/libsub.dylib"]
    assert set(libs[0].symbols) == {"_foo", "_bar", "_weakly"}
    assert libs[0].symbols["_weakly"].weak


def test_v3() -> None:
    (lib,) = read_tbd(V3, "old.tbd")
    assert lib.soname == "/usr/lib/libold.dylib" and set(lib.symbols) == {"_old", "_w"}


def test_malformed() -> None:
    with pytest.raises(LinkError, match="malformed .tbd YAML") as e:
        read_tbd("--- !tapi-tbd\ninstall-name: [unclosed\n", "bad.tbd")
    assert str(e.value).startswith("bad.tbd")
    with pytest.raises(LinkError, match="without install-name"):
        read_tbd("--- !tapi-tbd\ntbd-version: 4\n...\n", "noname.tbd")


def test_imports_and_embedded_libsystem() -> None:
    libs = imports_as_libraries(["_a@/usr/lib/libA.dylib", "_b@/usr/lib/libA.dylib",
                                 "_c@/opt/libC.dylib"])
    assert {lib.soname: sorted(lib.symbols) for lib in libs} == {
        "/usr/lib/libA.dylib": ["_a", "_b"], "/opt/libC.dylib": ["_c"]}
    with pytest.raises(LinkError, match="SYMBOL@INSTALL_NAME"):
        imports_as_libraries(["nolib"])
    system = default_libsystem()
    assert system.soname == "/usr/lib/libSystem.B.dylib"
    assert {"_printf", "_puts", "___stdoutp", "dyld_stub_binder", "_malloc"} <= set(system.symbols)


def test_a_stubs_versions_are_what_the_executable_records() -> None:
    """ld64 copies a stub's current and compatibility versions into LC_LOAD_DYLIB; absent,
    1.0.0.  Found by the outside hostile campaign (hand-written v1-v4 stubs against
    ld64.lld-14): every stub was recorded as 1.0.0, and dyld refuses a library whose
    compatibility version is below the recorded one (a stub saying 0 could not load)."""
    versioned = V3.replace("install-name: /usr/lib/libold.dylib\n",
                           "install-name: /usr/lib/libold.dylib\ncurrent-version: 65535.255.255"
                           "\ncompatibility-version: 0\n")
    [lib] = read_tbd(versioned, "v.tbd")
    assert lib.macho_versions == (0xFFFFFFFF, 0)
    [plain] = read_tbd(V3, "v.tbd")
    assert plain.macho_versions == (0x10000, 0x10000)
    assert default_libsystem().macho_versions == (1311 << 16, 1 << 16)
    for bad in ("abc", "99999", "1.256", "[1]"):
        with pytest.raises(LinkError, match=r"^v.tbd: malformed .tbd: current-version"):
            read_tbd(V3.replace("platform: macosx", f"current-version: {bad}"), "v.tbd")
