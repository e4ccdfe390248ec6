"""The field oracle told a shared object's unmarked local bindings (oracle.relocs.binding):
-Bsymbolic-functions and --dynamic-list leave no mark in the output, so judged without the
options, the outputs of GNU ld and lld disagree with the oracle (a direct call where it
wants a PLT entry); told the options, every field agrees, and told wrong ones it
disagrees again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oracle.relocs import LinkOptions, check_fields
from oracle.relocs.binding import read_dynamic_list
from oracle.relocs.cli import main as fields_main

SOURCE = """
int counter = 1;
int g(void) { return counter + 1; }
int h(void) { return 2; }
int f(void) { return g() + h() + counter; }
"""


@pytest.fixture(scope="module")
def obj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("binding")
    (work / "a.c").write_text(SOURCE)
    subprocess.run(["gcc", "-O1", "-fPIC", "-c", "-o", str(work / "a.o"), str(work / "a.c")],
                   check=True)
    (work / "list").write_text("{ g; /* stays preemptible */ coun*; };\n")
    return work / "a.o"


def _link(obj: Path, linker: str, *options: str) -> Path:
    out = obj.with_name(f"{linker}{''.join(options).replace('/', '_')}.so")
    subprocess.run([linker, "-shared", *options, "-o", str(out), str(obj)], check=True)
    return out


@pytest.mark.parametrize("linker", ["ld.bfd", "ld.lld-14"])
def test_symbolic_functions(obj: Path, linker: str) -> None:
    out = _link(obj, linker, "-Bsymbolic-functions")
    assert check_fields(str(out), [str(obj)]), "direct calls judged as if preemptible"
    assert not check_fields(str(out), [str(obj)],
                            link_options=LinkOptions(symbolic_functions=True))


@pytest.mark.parametrize("linker", ["ld.bfd", "ld.lld-14"])
def test_dynamic_list(obj: Path, linker: str) -> None:
    listing = obj.with_name("list")
    names = read_dynamic_list(str(listing))
    assert names == ("g", "coun*")
    out = _link(obj, linker, f"--dynamic-list={listing}")
    assert check_fields(str(out), [str(obj)])
    assert not check_fields(str(out), [str(obj)], link_options=LinkOptions(dynamic_list=names))
    # told that h stays preemptible too, the oracle wants a PLT call to h
    assert check_fields(str(out), [str(obj)],
                        link_options=LinkOptions(dynamic_list=(*names, "h")))
    assert fields_main([str(out), str(obj), "--dynamic-list", str(listing)]) == 0
    assert fields_main([str(out), str(obj)]) == 1
