"""Held-out real projects, built and tested through `gcc -B` with GNU ld and with linkharness.

Issue 20's last "done when": real projects and their own test suites, built with the flags
their build systems pass (here Debian's hardening flags: PIE, `-z relro -z now`, fortify,
stack protector, CET, plus `--as-needed`), must pass with linkharness as with GNU ld, and
linkharness must say nothing on a link that succeeds.

The sources are Debian bookworm's source packages, at the versions pinned below, fetched with
`apt-get source` through a private sources list (the machine's own apt configuration is not
touched).  Usage (not collected by pytest; `make real-projects` runs all of it):

    python tests/real_suites/projects.py [--work DIR] [--jobs N] [--only NAME ...]

Per project and linker it prints the tests passed, the links counted (the linkharness build
must count as many as GNU ld's: every link went through the linker named), what linkharness
printed on links that succeeded, and `linkharness check` violations over every linked file;
the table is also written to WORK/results.md and WORK/results.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    GNU_LD,
    Build,
    BuildFailed,
    TestCount,
    check_outputs,
    fresh_copy,
    linked_files,
    make_wrapper,
    read_link_log,
    shim_directory,
)

DEBIAN_SOURCES = (
    "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    "http://deb.debian.org/debian bookworm main\n"
)


def count_lines(text: str, passed: str, failed: str) -> TestCount:
    ok = len(re.findall(passed, text, re.MULTILINE))
    bad = len(re.findall(failed, text, re.MULTILINE))
    return TestCount(ok, ok + bad)


def zlib(b: Build) -> TestCount:
    # zlib's own configure script (not autoconf): static and shared libz (version script
    # zlib.map, -soname), example/minigzip against each, and the 64-bit offset variant.
    b.run(["./configure"], cwd=b.source)
    b.make("all", cwd=b.source)
    done = b.make("test", cwd=b.source, check=False)
    return count_lines(done.stdout, r"\*\*\* zlib .*test OK \*\*\*", r"\*\*\* .*test FAILED")


def bzip2(b: Build) -> TestCount:
    # The static build and its round trips; then (after `make clean`, as Debian's rules do)
    # the shared library (-fpic, -soname) and bzip2 linked against it, which must decompress
    # the same samples.
    cc = b.env()["CC"]
    flags = [f"CC={cc}", f"CFLAGS={b.env()['CFLAGS']} -D_FILE_OFFSET_BITS=64",
             f"LDFLAGS={b.env()['LDFLAGS']}"]
    done = b.make("all", cwd=b.source, check=False, variables=flags)
    result = count_lines(done.stdout, r"^cmp sample", r"differ")
    if done.returncode != 0:
        result = TestCount(0, 6, "make all failed")
    b.make("clean", cwd=b.source)
    b.make(cwd=b.source, variables=["-f", "Makefile-libbz2_so", f"CC={cc}"])
    ok = 0
    for n in (1, 2, 3):
        round_trip = f"./bzip2-shared -dc sample{n}.bz2 | cmp - sample{n}.ref"
        ok += b.run(["sh", "-c", round_trip], cwd=b.source, check=False,
                    env={"LD_LIBRARY_PATH": str(b.source)}).returncode == 0
    return TestCount(result.passed + ok, result.total + 3, result.detail)


def expat(b: Build) -> TestCount:
    # Debian's CVE backport tests `#if XML_DTD == 1`, which autoconf's config header meets
    # and CMake's (`#define XML_DTD`, empty) does not: give CMake's the value too.
    b.source = b.source / "expat"
    header = b.source / "expat_config.h.cmake"
    header.write_text(header.read_text().replace("#cmakedefine XML_DTD\n",
                                                 "#cmakedefine XML_DTD 1\n"))
    b.cmake("-DEXPAT_BUILD_TESTS=ON", "-DEXPAT_SHARED_LIBS=ON")
    suites = b.ctest()
    # ctest counts two tests; each runner holds a few hundred checks, counted here
    ok = total = 0
    for runner in ("tests/runtests", "tests/runtestspp"):
        done = b.run([f"./{runner}"], check=False)
        found = re.search(r"Checks: (\d+), Failed: (\d+)", done.stdout)
        checks, failed = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
        ok, total = ok + checks - failed, total + checks
    return TestCount(ok, total, f"(ctest {suites})")


def cmake_ctest(*options: str, srcdir_env: bool = False) -> Callable[[Build], TestCount]:
    """A CMake build and its ctest suite (`srcdir_env`: the test scripts find their data
    through $srcdir, as under automake)."""
    def build(b: Build) -> TestCount:
        b.cmake(*options)
        return b.ctest(env={"srcdir": str(b.source)} if srcdir_env else None)
    return build


def libuv(b: Build) -> TestCount:
    # The whole libuv test runner, against the shared library and the static one.  Some tests
    # need a network or privileges this machine lacks: they fail alike under both linkers.
    b.cmake("-DLIBUV_BUILD_TESTS=ON", "-DBUILD_TESTING=ON")
    ok = total = 0
    for runner in ("uv_run_tests", "uv_run_tests_a"):
        done = b.run([f"./{runner}"], check=False, timeout=1800,
                     env={"UV_TEST_TIMEOUT_MULTIPLIER": "3"})
        ok += len(re.findall(r"^ok \d+", done.stdout, re.MULTILINE))
        total += len(re.findall(r"^(?:not )?ok \d+", done.stdout, re.MULTILINE))
    return TestCount(ok, total)


def lz4(b: Build) -> TestCount:
    b.make("lib", "lz4", cwd=b.source)
    targets = ["test-lz4-basic", "test-frametest", "test-fuzzer", "test-lz4-dict",
               "test-lz4-multiple", "test-lz4-contentSize", "test-decompress-partial"]
    ok = 0
    for target in targets:
        done = b.make(target, cwd=b.source / "tests", check=False,
                      variables=["FUZZER_TIME=-T10s", "FUZZERTEST=-T10s", "FRAMETEST_TIME=-T10s"])
        ok += done.returncode == 0
    return TestCount(ok, len(targets))


def zstd(b: Build) -> TestCount:
    b.make("lib-release", cwd=b.source)
    b.make("zstd", cwd=b.source / "programs")
    targets = ["test-fuzzer", "test-zstream", "test-invalidDictionaries", "test-legacy",
               "test-decodecorpus", "test-poolTests"]
    ok = 0
    for target in targets:
        done = b.make(target, cwd=b.source / "tests", check=False,
                      variables=["FUZZERTEST=-T20s", "ZSTREAM_TESTTIME=-T20s",
                                 "DECODECORPUS_TESTTIME=-T5s"])
        ok += done.returncode == 0
    return TestCount(ok, len(targets))


# What size-conscious builds add: each function and object a section of its own, and the
# ones nothing reaches dropped by --gc-sections.
GC_CFLAGS = "-ffunction-sections -fdata-sections"
GC_LDFLAGS = "-Wl,--gc-sections"

# What Ubuntu 24.04's dpkg-buildflags add to Debian's: fat LTO objects (GNU ld runs gcc's LTO
# plugin on them; linkharness, which runs none, links their regular code), frame pointers,
# stack clash protection, and -Bsymbolic-functions.
UBUNTU_CFLAGS = ("-flto=auto -ffat-lto-objects -fno-omit-frame-pointer "
                 "-mno-omit-leaf-frame-pointer -fstack-clash-protection")
UBUNTU_LDFLAGS = "-flto=auto -ffat-lto-objects -Wl,-Bsymbolic-functions"

SQLITE_TESTS = ("select1", "select4", "select6", "func", "func3", "expr", "join", "trigger1",
                "window1", "json101", "vacuum", "wal", "where", "insert", "update", "delete",
                "printf", "collate1", "fkey1", "cte", "upsert1", "autoinc", "bigrow", "blob")


def sqlite(b: Build) -> TestCount:
    # configure (autoconf output, libtool): libsqlite3.so and the sqlite3 shell against it,
    # then testfixture (the Tcl extension with the test hooks) running a set of the Tcl test
    # files, each of which ends with "N errors out of M tests".
    b.run(["./configure", "--enable-shared", "--disable-static-shell", "--enable-fts5",
           "--with-tcl=/usr/lib/x86_64-linux-gnu/tcl8.6"], cwd=b.source)
    b.make("sqlite3", "testfixture", cwd=b.source)
    shell = b.run(["sh", "-c", ("echo 'create table t(a); insert into t values(6),(7); "
                   "select sum(a) from t;' | ./sqlite3")], cwd=b.source, check=False)
    ok, total = int(shell.stdout.strip() == "13"), 1
    for name in SQLITE_TESTS:
        done = b.run(["./testfixture", f"test/{name}.test"], cwd=b.source, check=False,
                     timeout=900)
        summary = re.search(r"(\d+) errors out of (\d+) tests", done.stdout)
        if summary is None:
            total += 1
            continue
        errors, count = int(summary.group(1)), int(summary.group(2))
        ok, total = ok + count - errors, total + count
    return TestCount(ok, total)


@dataclass(frozen=True)
class Project:
    name: str
    package: str  # Debian source package
    version: str  # pinned
    directory: str  # what `apt-get source` unpacks
    built: str  # for the table: what was built, and how
    build_and_test: Callable[[Build], TestCount]
    in_source: bool = False
    extra_cflags: str = ""
    extra_ldflags: str = ""


PROJECTS = (
    Project("zlib", "zlib", "1:1.2.13.dfsg-1", "zlib-1.2.13.dfsg",
            "configure+make; libz.a, libz.so (version script); example, minigzip (static and "
            "shared, 64-bit offsets)", zlib, in_source=True),
    Project("bzip2", "bzip2", "1.0.8-5", "bzip2-1.0.8",
            "make; libbz2.a, bzip2, bzip2recover; libbz2.so (-soname), bzip2-shared",
            bzip2, in_source=True),
    Project("expat", "expat", "2.5.0-1+deb12u2", "expat-2.5.0",
            "cmake; libexpat.so, xmlwf, runtests (C) and runtests_cxx (C++)",
            expat),
    Project("pcre2", "pcre2", "10.42-1", "pcre2-10.42",
            "cmake; libpcre2-{8,16,32}.so with JIT, pcre2test (RunTest), pcre2grep "
            "(RunGrepTest), pcre2_jit_test",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-DPCRE2_BUILD_PCRE2_16=ON",
                        "-DPCRE2_BUILD_PCRE2_32=ON", "-DPCRE2_SUPPORT_JIT=ON",
                        "-DPCRE2_BUILD_TESTS=ON", srcdir_env=True)),
    Project("jansson", "jansson", "2.14-2", "jansson-2.14",
            "cmake; libjansson.so (version script), its test suite",
            cmake_ctest("-DJANSSON_BUILD_SHARED_LIBS=ON", "-DJANSSON_BUILD_DOCS=OFF",
                        "-DJANSSON_WITHOUT_TESTS=OFF")),
    Project("cjson", "cjson", "1.7.15-1+deb12u4", "cjson-1.7.15",
            "cmake; libcjson.so, libcjson_utils.so, the unity tests; "
            f"{GC_CFLAGS} {GC_LDFLAGS}",
            cmake_ctest("-DENABLE_CJSON_TEST=ON", "-DENABLE_CJSON_UTILS=ON",
                        "-DBUILD_SHARED_LIBS=ON", "-DENABLE_CUSTOM_COMPILER_FLAGS=ON"),
            extra_cflags=GC_CFLAGS, extra_ldflags=GC_LDFLAGS),
    Project("libyaml", "libyaml", "0.2.5-1", "libyaml-0.2.5",
            f"cmake; libyaml.so, its tests; {GC_CFLAGS} {GC_LDFLAGS}",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-DBUILD_TESTING=ON"),
            extra_cflags=GC_CFLAGS, extra_ldflags=GC_LDFLAGS),
    Project("jsoncpp", "libjsoncpp", "1.9.5-4", "libjsoncpp-1.9.5",
            "cmake, C++; libjsoncpp.so, test_lib_json, jsontestrunner",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-DBUILD_STATIC_LIBS=OFF",
                        "-DBUILD_OBJECT_LIBS=OFF", "-DJSONCPP_WITH_TESTS=ON")),
    Project("fmt", "fmtlib", "9.1.0+ds1-2", "fmtlib-9.1.0+ds1",
            "cmake, C++ (templates, exceptions, static init); libfmt.so, googletest and gmock "
            "built from Debian's googletest source, the fmt tests",
            cmake_ctest("-DFMT_DOC=OFF", "-DFMT_TEST=ON", "-DBUILD_SHARED_LIBS=ON",
                        "-DCMAKE_POSITION_INDEPENDENT_CODE=ON", "-DFMT_PEDANTIC=ON")),
    Project("googletest", "googletest", "1.12.1-0.2", "googletest-1.12.1",
            "cmake, C++ (exceptions, death tests, static registration, threads); "
            "libgtest.so, libgmock.so and their own test suites",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-Dgtest_build_tests=ON",
                        "-Dgmock_build_tests=ON")),
    Project("sqlite", "sqlite3", "3.40.1-2+deb12u2", "sqlite3-3.40.1",
            "configure+libtool; libsqlite3.so, sqlite3 shell, testfixture (Tcl) running "
            + ", ".join(SQLITE_TESTS) + ".test", sqlite, in_source=True),
    # i386: the same builds with gcc -m32 (linkharness reads -m elf_i386 from the driver)
    Project("zlib-m32", "zlib", "1:1.2.13.dfsg-1", "zlib-1.2.13.dfsg",
            "as zlib, -m32", zlib, in_source=True, extra_cflags="-m32", extra_ldflags="-m32"),
    Project("jansson-m32", "jansson", "2.14-2", "jansson-2.14",
            "as jansson, -m32",
            cmake_ctest("-DJANSSON_BUILD_SHARED_LIBS=ON", "-DJANSSON_BUILD_DOCS=OFF",
                        "-DJANSSON_WITHOUT_TESTS=OFF"), extra_cflags="-m32", extra_ldflags="-m32"),
    Project("libyaml-m32", "libyaml", "0.2.5-1", "libyaml-0.2.5",
            "as libyaml, -m32",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-DBUILD_TESTING=ON"),
            extra_cflags=f"-m32 {GC_CFLAGS}", extra_ldflags=f"-m32 {GC_LDFLAGS}"),
    Project("pcre2-m32", "pcre2", "10.42-1", "pcre2-10.42",
            "as pcre2, -m32 (its JIT emits i386 code)",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-DPCRE2_BUILD_PCRE2_16=ON",
                        "-DPCRE2_BUILD_PCRE2_32=ON", "-DPCRE2_SUPPORT_JIT=ON",
                        "-DPCRE2_BUILD_TESTS=ON", srcdir_env=True),
            extra_cflags="-m32", extra_ldflags="-m32"),
    Project("cjson-m32", "cjson", "1.7.15-1+deb12u4", "cjson-1.7.15",
            "as cjson, -m32",
            cmake_ctest("-DENABLE_CJSON_TEST=ON", "-DENABLE_CJSON_UTILS=ON",
                        "-DBUILD_SHARED_LIBS=ON", "-DENABLE_CUSTOM_COMPILER_FLAGS=ON"),
            extra_cflags=f"-m32 {GC_CFLAGS}", extra_ldflags=f"-m32 {GC_LDFLAGS}"),
    Project("zlib-ubuntu", "zlib", "1:1.2.13.dfsg-1", "zlib-1.2.13.dfsg",
            "as zlib, with Ubuntu's flags (fat LTO objects, -Bsymbolic-functions)", zlib,
            in_source=True, extra_cflags=UBUNTU_CFLAGS, extra_ldflags=UBUNTU_LDFLAGS),
    Project("jsoncpp-ubuntu", "libjsoncpp", "1.9.5-4", "libjsoncpp-1.9.5",
            "as jsoncpp, with Ubuntu's flags",
            cmake_ctest("-DBUILD_SHARED_LIBS=ON", "-DBUILD_STATIC_LIBS=OFF",
                        "-DBUILD_OBJECT_LIBS=OFF", "-DJSONCPP_WITH_TESTS=ON"),
            extra_cflags=UBUNTU_CFLAGS, extra_ldflags=UBUNTU_LDFLAGS),
    Project("libuv", "libuv1", "1.44.2-1+deb12u1", "libuv1-1.44.2",
            "cmake; libuv.so, libuv_a.a, uv_run_tests (shared) and uv_run_tests_a (static): "
            "threads, signals, many syscalls", libuv),
    Project("lz4", "lz4", "1.9.4-1", "lz4-1.9.4",
            f"make; liblz4.so, liblz4.a, lz4, frametest, fuzzer, datagen; {GC_CFLAGS} "
            f"{GC_LDFLAGS}", lz4, in_source=True, extra_cflags=GC_CFLAGS,
            extra_ldflags=GC_LDFLAGS),
    Project("zstd", "libzstd", "1.5.4+dfsg2-5", "libzstd-1.5.4+dfsg2",
            "make; libzstd.so (-fvisibility=hidden), zstd, fuzzer, zstreamtest, poolTests",
            zstd, in_source=True),
)


def fetch_sources(work: Path, projects: list[Project]) -> Path:
    """`apt-get source` of each pinned package into WORK/src, with a private sources list."""
    apt = work / "apt"
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "sources.list").write_text(DEBIAN_SOURCES)
    options = [f"-o Dir::Etc::sourcelist={apt / 'sources.list'}", "-o Dir::Etc::sourceparts=-",
               f"-o Dir::State::Lists={apt / 'lists'}"]
    args = [w for o in options for w in o.split(" ", 1)]
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    missing = sorted({f"{p.package}={p.version}" for p in projects
                      if not (src / p.directory).is_dir()})
    if missing:
        subprocess.run(["apt-get", *args, "update"], check=True)
        subprocess.run(["apt-get", *args, "source", *missing], cwd=src, check=True)
    return src


@dataclass
class Outcome:
    project: str
    linker: str
    tests: str
    test_detail: str
    links: int
    failed_links: int
    printed: list[str]
    check_violations: list[str]
    checked_files: int
    error: str
    seconds: float
    failed_link_messages: list[str] = field(default_factory=list)


def build_once(project: Project, linker: str, src: Path, work: Path, jobs: int,
               shim: Path) -> Outcome:
    root = work / project.name / linker
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    log = root / "links.log"
    real = GNU_LD if linker == "gnu" else str(shim / "ld")
    source = fresh_copy(src / project.directory, root / "src")
    b = Build(project.name, linker, source, source if project.in_source else root / "build",
              make_wrapper(root / "wrap", real, log), log, root / "commands.log", jobs,
              project.extra_cflags, project.extra_ldflags)
    start = time.monotonic()
    error = ""
    try:
        count = project.build_and_test(b)
    except (BuildFailed, subprocess.TimeoutExpired) as failure:
        count, error = TestCount(0, 0), str(failure)
    links = [link for link in read_link_log(log) if not link.is_probe]
    printed = [f"{link.output}: {line}" for link in links if link.status == 0
               for line in link.printed]
    # (configure probes fail under GNU ld too: compared with GNU ld's, not judged alone)
    failed = [line for link in links if link.status != 0 for line in link.printed[:1]]
    files = linked_files(links)
    return Outcome(project.name, linker, str(count), count.detail, len(links), len(failed),
                   printed, check_outputs(files), len(files), error,
                   round(time.monotonic() - start, 1), failed)


def table(outcomes: list[Outcome]) -> str:
    header = ("| project | linker | tests passed | links (failed) | printed on success | "
              "check violations (files) | error |")
    rows = [header, "|---|---|---|---|---|---|---|"]
    for o in outcomes:
        printed = f"{len(o.printed)} lines" if o.printed else "nothing"
        rows.append(f"| {o.project} | {o.linker} | {o.tests} {o.test_detail} | {o.links} "
                    f"({o.failed_links}) | {printed} | {len(o.check_violations)} "
                    f"({o.checked_files}) | {o.error[:200]} |")
    return "\n".join(rows)


def summary(results: list[Outcome]) -> str:
    """One row per project, GNU ld's build beside linkharness's (the README's table)."""
    by = {(o.project, o.linker): o for o in results}
    rows = [("| project | Debian version | built | tests passed: GNU ld / linkharness | links "
            "(failed probes) | linkharness printed on success | check violations (files) |"),
            "|---|---|---|---|---|---|---|"]
    for p in PROJECTS:
        gnu, ours = by.get((p.name, "gnu")), by.get((p.name, "linkharness"))
        if gnu is None or ours is None:
            continue
        printed = "nothing" if not ours.printed and not ours.error else (
            f"{len(ours.printed)} lines {ours.error[:80]}")
        rows.append(f"| {p.name} | {p.version} | {p.built} | {gnu.tests} / {ours.tests} | "
                    f"{gnu.links} ({gnu.failed_links}) / {ours.links} ({ours.failed_links}) | "
                    f"{printed} | {len(gnu.check_violations)} ({gnu.checked_files}) / "
                    f"{len(ours.check_violations)} ({ours.checked_files}) |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("build/real-projects"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--linkers", nargs="*", default=["gnu", "linkharness"])
    parser.add_argument("--summary", nargs="*", type=Path,
                        help="print the README table from these results.json files and stop")
    args = parser.parse_args()
    if args.summary is not None:
        results = [Outcome(**o) for path in args.summary for o in json.loads(path.read_text())]
        print(summary(results))
        return 0
    work = args.work.resolve()
    chosen = [p for p in PROJECTS if not args.only or p.name in args.only]
    src = fetch_sources(work, chosen)
    shim = shim_directory()
    outcomes: list[Outcome] = []
    results = work / "results.json"
    previous = json.loads(results.read_text()) if results.exists() else []
    for project in chosen:
        for linker in args.linkers:
            outcome = build_once(project, linker, src, work, args.jobs, shim)
            outcomes.append(outcome)
            print(table([outcome]).splitlines()[-1], flush=True)
            for line in outcome.printed[:20] + outcome.check_violations[:20]:
                print("   ", line, flush=True)
    keep = [o for o in previous if (o["project"], o["linker"]) not in
            {(o.project, o.linker) for o in outcomes}]
    merged = keep + [asdict(o) for o in outcomes]
    results.write_text(json.dumps(merged, indent=1))
    (work / "results.md").write_text(table([Outcome(**o) for o in merged]) + "\n")
    print(table(outcomes))
    return 1 if differences(outcomes) else 0


def differences(outcomes: list[Outcome]) -> list[str]:
    """What makes linkharness's build of a project not a drop-in for GNU ld's: words on a
    successful link, a build that stopped, or tests, links or failed links not as many."""
    gnu = {o.project: o for o in outcomes if o.linker == "gnu"}
    found = []
    for o in outcomes:
        if o.linker != "linkharness":
            continue
        ref = gnu.get(o.project)
        if o.printed or o.error:
            found.append(f"{o.project}: printed {len(o.printed)} lines; error {o.error!r}")
        if ref is not None and (o.tests, o.links, o.failed_links) != (
                ref.tests, ref.links, ref.failed_links):
            found.append(f"{o.project}: tests/links/failed {o.tests}/{o.links}/"
                         f"{o.failed_links}, GNU ld {ref.tests}/{ref.links}/{ref.failed_links}")
    for line in found:
        print("DIFFERENT", line)
    return found


if __name__ == "__main__":
    sys.exit(main())
