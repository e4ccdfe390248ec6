"""Where the held-out programs of `heldout_programs.py` come from, and how each is built.

Nothing here is copied into the repository, and nothing names another repository's files:
the programs are read at run time from directories and manifests the caller names, and
from Debian bookworm source packages.

  --c-programs DIR   every `*.c` of DIR, a single-file program run without arguments (a C
                     compiler test suite's programs, say; -std=c11 -O2)
  --manifest FILE    the programs a JSON manifest names, with their arguments, flags,
                     libraries, and another program's output as stdin
  debian             real tools built with their own makefiles from bookworm sources: zlib's
                     `example` and `minigzip`, bzip2 (compressing, decompressing, testing a
                     file, a stdin, a file that is not bzip2), sqlite3's shell on an
                     in-memory database (its amalgamation made by its own makefile) and Lua
                     5.4's `lua` running small scripts of ours (zlib from Debian's patched
                     tree; bzip2 and Lua from the upstream tarballs, whose makefiles need no
                     libtool)

A program is built once per (arch, pie) into objects (or, for a project, by its makefile),
then linked by GNU ld through gcc once per link variant.
"""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEBIAN_SOURCES = (
    "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    "http://deb.debian.org/debian bookworm main\n"
)
DEBIAN_PACKAGES = {"zlib": "zlib=1:1.2.13.dfsg-1", "lua5.4": "lua5.4=5.4.4-3+deb12u1",
                   "bzip2": "bzip2=1.0.8-5", "sqlite3": "sqlite3=3.40.1-2+deb12u2"}

ARCH_FLAGS = {"x86_64": [], "i386": ["-m32"]}
PIE_FLAGS = {"pie": ["-fPIE"], "no-pie": ["-fno-pie"]}


@dataclass(frozen=True)
class Program:
    """One program to run: how to get its link inputs for an (arch, pie) build, and how to
    run it (argv after argv[0], stdin, a directory of files it starts with)."""

    suite: str
    name: str
    inputs: Callable[[str, str, Path], list[str]]  # (arch, pie, scratch) -> gcc link inputs
    libs: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    stdin: bytes = b""
    files: Path | None = None
    stdin_from: str = ""  # the name of a program whose native stdout is this one's stdin


def compile_sources(sources: Sequence[Path], cflags: Sequence[str],
                    shared: Path | None = None) -> Callable[[str, str, Path], list[str]]:
    """Link inputs made by compiling SOURCES with gcc, once per (arch, pie): in the
    program's scratch directory, or under `shared` when several programs link them."""

    def inputs(arch: str, pie: str, scratch: Path) -> list[str]:
        where = scratch if shared is None else shared / f"{arch}-{pie}"
        where.mkdir(parents=True, exist_ok=True)
        objects = []
        for source in sources:
            obj = where / f"{source.stem}.o"
            if not obj.exists():
                partial = obj.with_suffix(".o.partial")
                subprocess.run(["gcc", *ARCH_FLAGS[arch], *PIE_FLAGS[pie], *cflags, "-c",
                                str(source), "-o", str(partial)],
                               check=True, capture_output=True, timeout=600)
                partial.rename(obj)
            objects.append(str(obj))
        return objects

    return inputs


def single_files(directory: Path) -> list[Program]:
    """Every `*.c` of DIRECTORY, a program of its own (compiled as a C test suite's runner
    compiles one: -std=c11 -O2), run without arguments."""
    return [Program("single-file", source.stem,
                    compile_sources([source], ["-std=c11", "-O2", "-w"]))
            for source in sorted(directory.glob("*.c"))]


def from_manifest(manifest: Path) -> list[Program]:
    """The programs a JSON manifest names, each {"name", "source" (relative to the
    manifest), "args", "cflags" ("{dir}" for the manifest's directory), "libs",
    "stdin_from" (a program whose native stdout is this one's stdin)}."""
    root = manifest.parent.resolve()
    programs = []
    for entry in json.loads(manifest.read_text()):
        source = root / entry["source"]
        as_c = source if source.suffix == ".c" else \
            manifest.parent / ".heldout-c" / (entry["name"] + ".c")  # gcc needs .c
        if as_c != source:
            as_c.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, as_c)
        flags = ["-O2", "-w", *(f.replace("{dir}", str(root)) for f in entry.get("cflags", []))]
        programs.append(Program("manifest", entry["name"], compile_sources([as_c], flags),
                                libs=tuple(entry.get("libs", [])),
                                args=tuple(entry.get("args", [])),
                                stdin_from=entry.get("stdin_from", "")))
    return programs


def debian_source(work: Path, package: str) -> Path:
    """`apt-get source` of a pinned bookworm package under WORK/src/debian (once), through a
    private sources list; the unpacked directory (Debian's patches applied)."""
    src = work / "src" / "debian"
    found = sorted(p for p in src.glob(package + "-*") if p.is_dir()) if src.exists() else []
    if found:
        return found[0]
    apt = work / "apt"
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "sources.list").write_text(DEBIAN_SOURCES)
    options = [f"-oDir::Etc::sourcelist={apt / 'sources.list'}", "-oDir::Etc::sourceparts=-",
               f"-oDir::State::Lists={apt / 'lists'}"]
    src.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", *options, "update"], check=True, capture_output=True)
    subprocess.run(["apt-get", *options, "source", DEBIAN_PACKAGES[package]], cwd=src,
                   check=True, capture_output=True)
    found = sorted(p for p in src.glob(package + "-*") if p.is_dir())
    return found[0]


@dataclass
class MakeBuild:
    """A project built by its own makefile once per (arch, pie), in a copy of its source."""

    source: Path
    configure: Callable[[Path, list[str]], None]  # (build dir, cflags) -> runs the build
    outputs: dict[tuple[str, str], Path] = field(default_factory=dict)

    def directory(self, arch: str, pie: str, scratch: Path) -> Path:
        key = (arch, pie)
        if key not in self.outputs:
            # scratch is WORK/build/SUITE/PROGRAM/ARCH-PIE: one build per project
            build = scratch.parents[2] / "projects" / f"{self.source.name}-{arch}-{pie}"
            if not (build / ".built").exists():
                shutil.rmtree(build, ignore_errors=True)
                shutil.copytree(self.source, build, symlinks=True)
                self.configure(build, [*ARCH_FLAGS[arch], *PIE_FLAGS[pie], "-O2"])
                (build / ".built").touch()
            self.outputs[key] = build
        return self.outputs[key]


def _zlib_make(build: Path, cflags: list[str]) -> None:
    env_cc = "gcc " + " ".join(cflags)
    subprocess.run(["./configure", "--static"], cwd=build, check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "CC": env_cc}, timeout=300)
    subprocess.run(["make", "-j1", "libz.a", "example.o", "minigzip.o"], cwd=build, check=True,
                   capture_output=True, timeout=600)


def upstream_source(work: Path, package: str) -> Path:
    """The package's upstream tarball (`.orig.tar.gz`) unpacked without Debian's patches:
    Debian's Lua builds with libtool, upstream's own makefile does not."""
    debian_source(work, package)
    src = work / "src" / "upstream" / package
    tarball = next((work / "src" / "debian").glob(package + "_*.orig.tar.*"))
    if not (src / ".unpacked").exists():
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        subprocess.run(["tar", "-x", "-C", str(src), "-f", str(tarball)], check=True)
        (src / ".unpacked").touch()
    return next(p for p in src.iterdir() if p.is_dir())


def _lua_make(build: Path, cflags: list[str]) -> None:
    # upstream's own src/Makefile, `posix` target (no readline); MYCFLAGS carries the arch,
    # and its own link of `lua` needs the arch and -no-pie too
    ldflags = [f for f in cflags if f == "-m32"] + (["-no-pie"] if "-fno-pie" in cflags else [])
    subprocess.run(["make", "-C", "src", "-j1", "posix", "MYCFLAGS=" + " ".join(cflags),
                    "MYLDFLAGS=" + " ".join(ldflags)],
                   cwd=build, check=True, capture_output=True, timeout=900)


def _bzip2_make(build: Path, cflags: list[str]) -> None:
    # upstream's Makefile: CC carries the arch and PIE flags, as its own link needs them
    ldflags = ["-no-pie"] if "-fno-pie" in cflags else []
    subprocess.run(["make", "-j1", "libbz2.a", "bzip2", "CC=gcc " + " ".join(cflags),
                    "LDFLAGS=" + " ".join(ldflags)],
                   cwd=build, check=True, capture_output=True, timeout=600)


def sqlite_amalgamation(work: Path) -> Path:
    """sqlite3.c and shell.c, made once by sqlite's own configure and makefile (tclsh
    generates them) from the upstream tarball; the directory holding them."""
    source = upstream_source(work, "sqlite3")
    build = work / "build" / "projects" / "sqlite3-amalgamation"
    if not (build / ".built").exists():
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir(parents=True)
        subprocess.run([str(source / "configure"), "--disable-tcl", "--disable-readline",
                        "--disable-threadsafe", "--disable-load-extension"], cwd=build,
                       check=True, capture_output=True, timeout=600)
        subprocess.run(["make", "-j1", "sqlite3.c", "shell.c"], cwd=build, check=True,
                       capture_output=True, timeout=900)
        (build / ".built").touch()
    return build


SQLITE_FLAGS = ("-O1", "-w", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION")
SQLITE_SCRIPTS = {  # SQL of ours, read by the shell from stdin against :memory:
    "queries": "create table t(a integer primary key, b text, c real);"
               " insert into t(b, c) values ('x', 1.5), ('y', -2.25), (null, 1e100);"
               " select a, b, c, typeof(c), a * c from t order by c desc;"
               " select count(*), sum(c), avg(a), group_concat(b, '+'), max(length(b)) from t;"
               " create index ti on t(b); explain query plan select * from t where b = 'x';\n",
    "formats": ".mode box\nselect printf('%5.2f|%-6s|%x|%e|%g|%q', 3.14159, 'ab', 255, 12345.678,"
               " 0.0001, 'it''s') as p, 1/3.0 as third, 7/2, 7 % 3, round(2.5), 1e308*10;\n"
               ".mode csv\nselect 'a,b', 'c\"d', 1.0, null;\n.mode json\nselect 1 as x, 'y' as y;\n",
    "dates": "select date(1234567890, 'unixepoch'), datetime(0, 'unixepoch', '+1 month'),"
             " strftime('%Y-%j %H:%M:%f %w', '2024-02-29 12:34:56.789'), julianday('2000-01-01'),"
             " date('2024-01-31', '+1 month'), time('12:00', '-90 minutes');\n",
    "json-window": "select json_object('a', 1, 'b', json_array(1, 2.5, 'x')),"
                   " json_extract('{\"k\":[10,20]}', '$.k[1]');"
                   " with recursive n(i) as (select 1 union all select i + 1 from n where i < 8)"
                   " select i, sum(i) over (order by i rows 2 preceding),"
                   " rank() over (order by i % 3) from n;\n",
    "errors": ".bail on\nselect 1;\nselect * from missing_table;\nselect 2;\n",
}


SQLITE_FILE_DB = (
    "create table t(a integer primary key, b text); begin;"
    " insert into t(b) values ('one'), ('two'), ('three'); commit;"
    " begin; update t set b = upper(b) where a > 1; rollback;"
    " insert into t(b) select b || '!' from t; create index tb on t(b);"
    " pragma integrity_check; pragma journal_mode; pragma page_count;\n"
    ".open made.db\nselect a, b from t order by b;\nvacuum;\nselect count(*) from t;\n"
)


LUA_SCRIPTS = {  # our own few lines of Lua, driving the interpreter's libraries
    "strings": 'local t = {} for i = 1, 20 do t[#t+1] = string.format("%d:%5.2f:%x:%q", i, i/7,'
               ' i*255, "a\\n") end print(table.concat(t, ",")) print(("hello"):rep(3, "-"),'
               ' ("x=1, y=22"):gsub("%d+", function(d) return d*2 end))',
    "numbers": 'print(1/3, 2^53, math.pi, -0.0, 1e300*1e10, math.maxinteger, 7 // 2, 7.0 // 2,'
               ' 3 % -2, tostring(1e15), tonumber("0x1p4"), tonumber("  12  "), 10 / 4)',
    "tables": 'local t = {} for i = 1, 200 do t[i] = (i * 7919) % 211 end table.sort(t)'
              ' print(t[1], t[100], t[200], #t) local s = 0 for k, v in pairs({a=1, b=2, c=3})'
              ' do s = s + v end print(s)',
    "errors": 'print(pcall(error, "boom")) print(pcall(function() local x = nil; return x.y end))'
              ' print(select("#", 1, 2, 3)) local co = coroutine.wrap(function(a) local b ='
              ' coroutine.yield(a + 1) return b * 2 end) print(co(1), co(10))',
    "exit": 'io.write("bye\\n") io.stderr:write("to stderr\\n") os.exit(3)',
    "formats": 'for _, f in ipairs({"%.14g", "%g", "%e", "%.3f", "%a", "%10.4s|", "%-8d|", "%+i",'
               ' "%o", "%X", "%c"}) do print(f, pcall(string.format, f, f == "%10.4s|" and'
               ' "abcdef" or (f:find("[dicoX]") and 255 or 3.14159))) end'
               ' print(string.format("%q", 1/3), 2^63, math.tointeger(2^53), -2^63 // 1 | 0)',
    "conversions": 'for _, s in ipairs({"0x10", "1e2", " 3.5 ", "1e400", "-0", "inf", "0x1P-2",'
                   ' "12abc", "9007199254740993", ".5", "5."}) do print(s, tonumber(s),'
                   ' math.type(tonumber(s))) end print(tonumber("z", 36), tonumber("777", 8),'
                   ' ("%5.2f"):format(2.675), math.floor(-3.5), math.fmod(7, -3), math.ult(1, -1))',
    "dates": 'print(os.date("!%Y-%m-%d %H:%M:%S %A %B %j", 1234567890)) print(os.date("!%c", 0))'
             ' local t = os.date("!*t", 86400 * 366) print(t.year, t.month, t.day, t.yday, t.wday,'
             ' t.isdst) print(os.time({year=2020, month=2, day=30, hour=12}))'
             ' print(type(os.time()), type(os.clock()), os.getenv("HOME"), os.difftime(10, 4))',
    "binary": 'local p = string.pack("<i4 d s1 z", -2, 0.5, "ab", "cd") print(#p, p:byte(1, -1))'
              ' print(string.unpack("<i4 d s1 z", p)) print(utf8.char(72, 228, 8364, 128512),'
              ' utf8.len("h\\u{e4}\\u{20ac}"), #utf8.char(0x10FFFF)) for p, c in utf8.codes("a\\u{e4}")'
              ' do io.write(p, ":", c, " ") end print() print(("%s"):rep(3, ","):format(1, 2, 3))',
    "stdin": 'local n, words = 0, 0 for line in io.lines() do n = n + 1 for _ in line:gmatch("%S+")'
             ' do words = words + 1 end end print("lines", n, "words", words) print(io.read("a") == "")',
    "tmpfiles": 'local name = os.tmpname() local f = assert(io.open(name, "w")) f:write("tmp\\n")'
                ' f:close() print(io.open(name):read("l")) print(os.remove(name), (os.remove(name)))'
                ' local g = io.tmpfile() g:write("abc") g:seek("set", 1) print(g:read("a"))'
                ' print(os.rename("data.txt", "moved.txt"), io.open("moved.txt"):read("l"))',
    "files": 'local f = assert(io.open("data.txt")) local n = 0 for line in f:lines() do'
             ' n = n + #line end f:close() print("chars", n) local g = assert(io.open('
             '"out.txt", "w")) g:write("x", 1, 2.5) g:close() print(io.open("out.txt"):read("a"))',
}


def debian(work: Path) -> list[Program]:
    programs = []
    zlib = MakeBuild(debian_source(work, "zlib"), _zlib_make)

    def zlib_inputs(main: str) -> Callable[[str, str, Path], list[str]]:
        def inputs(arch: str, pie: str, scratch: Path) -> list[str]:
            build = zlib.directory(arch, pie, scratch)
            return [str(build / main), str(build / "libz.a")]
        return inputs

    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    sample = files / "sample.txt"
    if not sample.exists():
        sample.write_text("".join(f"line {i}: the quick brown fox {i * i}\n" for i in range(400)))
        (files / "data.txt").write_text("alpha\nbeta\ngamma\n")
    programs.append(Program("debian", "zlib-example", zlib_inputs("example.o"),
                            args=("example.gz",), files=files))
    gzipped = files / "sample.txt.gz"
    if not gzipped.exists():
        gzipped.write_bytes(gzip.compress(sample.read_bytes(), 9, mtime=0))
    for name, args, stdin in (("", ("-c", "sample.txt"), b""),
                              ("-decompress", ("-d", "-c", "sample.txt.gz"), b""),
                              ("-stdin", ("-1",), sample.read_bytes()),
                              ("-not-gzip", ("-d", "-c", "data.txt"), b"")):
        programs.append(Program("debian", f"zlib-minigzip{name}", zlib_inputs("minigzip.o"),
                                args=args, stdin=stdin, files=files))
    lua = MakeBuild(upstream_source(work, "lua5.4"), _lua_make)

    def lua_inputs(arch: str, pie: str, scratch: Path) -> list[str]:
        build = lua.directory(arch, pie, scratch)
        return [str(build / "src" / "lua.o"), str(build / "src" / "liblua.a")]

    bzip2 = MakeBuild(upstream_source(work, "bzip2"), _bzip2_make)

    def bzip2_inputs(arch: str, pie: str, scratch: Path) -> list[str]:
        build = bzip2.directory(arch, pie, scratch)
        return [str(build / "bzip2.o"), str(build / "libbz2.a")]

    compressed = files / "sample.txt.bz2"
    if not compressed.exists():
        compressed.write_bytes(bz2.compress(sample.read_bytes(), 9))
    for name, args, stdin in (("compress", ("-c", "sample.txt"), b""),
                              ("decompress", ("-dc", "sample.txt.bz2"), b""),
                              ("test-verbose", ("-tvv", "sample.txt.bz2"), b""),
                              ("stdin", ("-1", "-c"), sample.read_bytes()),
                              ("not-bzip2", ("-d", "-c", "data.txt"), b"")):
        programs.append(Program("debian", f"bzip2-{name}", bzip2_inputs, args=args,
                                stdin=stdin, files=files))
    # bzip2's own `make test`: its three samples compressed at -1, -2, -3 and its three
    # .bz2 files decompressed (-s for the third), stdin to stdout
    for number, level in ((1, "-1"), (2, "-2"), (3, "-3")):
        ref, packed = bzip2.source / f"sample{number}.ref", bzip2.source / f"sample{number}.bz2"
        programs.append(Program("debian", f"bzip2-test-sample{number}-compress", bzip2_inputs,
                                args=(level,), stdin=ref.read_bytes()))
        programs.append(Program("debian", f"bzip2-test-sample{number}-decompress",
                                bzip2_inputs, args=("-ds" if number == 3 else "-d",),
                                stdin=packed.read_bytes()))
    amalgamation = sqlite_amalgamation(work)
    sqlite_inputs = compile_sources([amalgamation / "shell.c", amalgamation / "sqlite3.c"],
                                    SQLITE_FLAGS, shared=amalgamation)
    for script, sql in SQLITE_SCRIPTS.items():
        programs.append(Program("debian", f"sqlite3-{script}", sqlite_inputs, libs=("-lm",),
                                args=(":memory:",), stdin=sql.encode()))
    # a database file (rollback journal: its -journal file made, synced and deleted), which
    # the shell then opens a second time with .open to read what the first wrote
    programs.append(Program("debian", "sqlite3-file-db", sqlite_inputs, libs=("-lm",),
                            args=("made.db",), stdin=SQLITE_FILE_DB.encode(), files=files))
    for script, text in LUA_SCRIPTS.items():
        programs.append(Program("debian", f"lua-{script}", lua_inputs, libs=("-lm",),
                                args=("-e", text), files=files,
                                stdin=sample.read_bytes() if script == "stdin" else b""))
    return programs


SUITES = {"debian": debian}
