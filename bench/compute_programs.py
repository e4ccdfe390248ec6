"""Compute-heavy programs for the emulator benchmark (issue 12: "a compute-heavy program runs
under `linkharness run` in about the time that bare Unicorn needs for it").

Two kernels of our own, each one C file whose `compute()` returns a number:

- nqueens: counts the placements of N queens by bitmask backtracking (recursion, branches,
  no library call); N = 12 is about 39 million instructions.
- sortsieve: a sieve of Eratosthenes, then rounds of memcpy of a window of the primes, a
  scramble, qsort with a comparator of the kernel's (the library calls back into guest
  code), and a checksum: libc calls through the PLT inside the loop.

The SAME kernel object is linked twice per target:

- the normal dynamic program: a driver's main() prints compute() with printf (ELF: gcc +
  GNU ld, x86-64 and -m32; Mach-O: clang-14 for macOS, linked by ld64.lld-14 and by
  linkharness against the shipped libSystem.tbd, as tests/linker/macho builds);
- a freestanding static image (-nostdlib, no libc): a `_start` calls compute() and exits by
  the exit system call with the low byte of the result, memcpy and qsort supplied by a small
  file of our own (FREESTANDING_C).  Bare Unicorn runs it with nothing but an exit-syscall
  hook (bench/bare_unicorn.py).

For Mach-O the kernel is compiled by clang-14 for macOS and, for its freestanding image,
by clang-14 for Linux with the same flags (the Mach-O object cannot be linked into an ELF
image; the two ABIs agree on everything this code does).  Kernels are compiled with
-fno-builtin so memcpy stays a call.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
LIBSYSTEM_TBD = PROJECT_DIR / "linker" / "macho" / "data" / "libSystem.tbd"
CFLAGS = ("-O2", "-fno-builtin", "-fno-stack-protector", "-fcf-protection=none", "-w")

NQUEENS_C = r"""
/* N-queens by bitmask backtracking: counts every placement. */
extern volatile int kernel_size;

static unsigned long place(unsigned all, unsigned cols, unsigned left, unsigned right) {
    if (cols == all)
        return 1;
    unsigned long count = 0;
    unsigned free_squares = all & ~(cols | left | right);
    while (free_squares) {
        unsigned bit = free_squares & -free_squares;
        free_squares -= bit;
        count += place(all, cols | bit, (left | bit) << 1, (right | bit) >> 1);
    }
    return count;
}

unsigned long compute(void) {
    int n = kernel_size;
    return place((1u << n) - 1, 0, 0, 0);
}
"""

SORTSIEVE_C = r"""
/* A sieve, then rounds of: copy a window of the primes (memcpy), scramble it, sort it with
   qsort and a comparator (the library calls back into this code), fold a checksum. */
typedef __SIZE_TYPE__ size_t;
void *memcpy(void *, const void *, size_t);
void qsort(void *, size_t, size_t, int (*)(const void *, const void *));

#define LIMIT 400000
#define WINDOW 24
extern volatile int kernel_size;

static unsigned char composite[LIMIT];
static unsigned primes[LIMIT / 2];
static unsigned window[WINDOW];

static int ascending(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

unsigned long compute(void) {
    unsigned count = 0;
    for (unsigned i = 2; i < LIMIT; i++) {
        if (composite[i])
            continue;
        primes[count++] = i;
        for (unsigned j = i * 2; j < LIMIT; j += i)
            composite[j] = 1;
    }
    unsigned long sum = count, seed = 12345;
    int rounds = kernel_size;
    for (int r = 0; r < rounds; r++) {
        memcpy(window, primes + (r * 7) % (count - WINDOW), sizeof window);
        for (int k = 0; k < WINDOW; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            window[k] ^= (unsigned)(seed >> 40) & 0xfff;
        }
        qsort(window, WINDOW, sizeof window[0], ascending);
        sum = sum * 31 + window[r % WINDOW] + window[0];
    }
    return sum;
}
"""

DRIVER_C = r"""
int printf(const char *, ...);
volatile int kernel_size = SIZE;
unsigned long compute(void);
int main(void) {
    printf("%lu\n", compute());
    return 0;
}
"""

START_C = r"""
volatile int kernel_size = SIZE;
unsigned long compute(void);
void _start(void) {
    unsigned long result = compute();
#ifdef __x86_64__
    __asm__ volatile("syscall" : : "a"(60), "D"(result & 0xff));
#else
    __asm__ volatile("int $0x80" : : "a"(1), "b"(result & 0xff));
#endif
    for (;;) {}
}
"""

# What a freestanding image has instead of libc: a byte-copying memcpy and a stable merge
# sort (glibc's qsort merge-sorts too; so does the emulator's).
FREESTANDING_C = r"""
typedef __SIZE_TYPE__ size_t;

void *memcpy(void *to, const void *from, size_t n) {
    unsigned char *d = to;
    const unsigned char *s = from;
    while (n--)
        *d++ = *s++;
    return to;
}

static unsigned char scratch[1 << 16];

static void merge_sort(unsigned char *base, size_t count, size_t size,
                       int (*cmp)(const void *, const void *)) {
    if (count < 2)
        return;
    size_t mid = count / 2;
    merge_sort(base, mid, size, cmp);
    merge_sort(base + mid * size, count - mid, size, cmp);
    unsigned char *left = base, *right = base + mid * size, *end = base + count * size;
    unsigned char *middle = right, *out = scratch;
    while (left < middle && right < end) {
        unsigned char *take = cmp(left, right) <= 0 ? left : right;
        memcpy(out, take, size);
        out += size;
        if (take == left)
            left += size;
        else
            right += size;
    }
    while (left < middle) {
        memcpy(out, left, size);
        out += size;
        left += size;
    }
    memcpy(base, scratch, (size_t)(out - scratch));
}

void qsort(void *base, size_t count, size_t size, int (*cmp)(const void *, const void *)) {
    merge_sort(base, count, size, cmp);
}
"""

KERNELS = {"nqueens": (NQUEENS_C, 12), "sortsieve": (SORTSIEVE_C, 1500)}


@dataclass(frozen=True)
class Target:
    """How one target builds: the dynamic program's compiler and linker, and the compiler
    of the kernel for the freestanding image."""

    name: str
    bits: int  # 64 or 32
    macho: bool
    linker: str  # "GNU ld", "ld64.lld" or "linkharness"


TARGETS = (
    Target("ELF x86-64", 64, False, "GNU ld"),
    Target("ELF i386", 32, False, "GNU ld"),
    Target("Mach-O x86-64", 64, True, "ld64.lld"),
    Target("Mach-O x86-64", 64, True, "linkharness"),
    Target("Mach-O i386", 32, True, "linkharness"),
)


@dataclass(frozen=True)
class ComputeProgram:
    """One kernel built for one target: the dynamic program, the freestanding image of the
    same kernel code, and what a right run prints (the native run's stdout)."""

    kernel: str
    size: int
    target: Target
    dynamic: Path
    freestanding: Path
    stdout: bytes

    @property
    def exit_status(self) -> int:
        """The freestanding image's: the low byte of the result."""
        return int(self.stdout) & 0xFF

    @property
    def label(self) -> str:
        return f"{self.kernel} {self.target.name} ({self.target.linker})"


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.decode(errors='replace')}")


def _compile(compiler: list[str], source: str, out: Path, extra: tuple[str, ...] = ()
             ) -> Path:
    src = out.with_suffix(".c")
    src.write_text(source)
    _run([*compiler, *CFLAGS, *extra, "-c", "-o", str(out), str(src)])
    return out


def _gcc(bits: int) -> list[str]:
    return ["gcc", f"-m{bits}"]


def _clang(bits: int, macho: bool) -> list[str]:
    arch = "x86_64" if bits == 64 else "i386"
    triple = f"{arch}-apple-macosx10.9" if macho else f"{arch}-linux-gnu"
    if macho and bits == 32:
        triple = "i386-apple-macosx10.7"
    # Darwin's i386 code is PIC by default; the Linux build of the same kernel is made PIC
    # too, so that both images run the same instructions.
    return ["clang-14", f"--target={triple}", *(["-fPIC"] if bits == 32 else [])]


def native_stdout(kernel: str, size: int, directory: Path, bits: int = 64) -> bytes:
    """The kernel's output natively (gcc, Linux): what every emulated run must print."""
    source, _ = KERNELS[kernel]
    obj = _compile(_gcc(bits), source, directory / f"{kernel}-native{bits}.o")
    driver = _compile(_gcc(bits), DRIVER_C.replace("SIZE", str(size)),
                      directory / f"{kernel}-{size}-driver-native{bits}.o")
    exe = directory / f"{kernel}-{size}-native{bits}"
    _run(["gcc", f"-m{bits}", "-o", str(exe), str(obj), str(driver)])
    return subprocess.run([str(exe)], capture_output=True, check=True).stdout


def build(kernel: str, size: int, target: Target, directory: Path, stdout: bytes
          ) -> ComputeProgram:
    """`kernel` (of `size`) for `target` in `directory`: both images.  `stdout` is the
    native run's output (native_stdout)."""
    source, _ = KERNELS[kernel]
    tag = f"{kernel}-{size}-{'macho' if target.macho else 'elf'}{target.bits}"
    directory.mkdir(parents=True, exist_ok=True)
    if target.macho:
        compiler = _clang(target.bits, macho=True)
        dynamic = _link_macho(target, [
            _compile(compiler, source, directory / f"{tag}-kernel.o"),
            _compile(compiler, DRIVER_C.replace("SIZE", str(size)), directory / f"{tag}-main.o"),
        ], directory / f"{tag}-{target.linker}")
        free_compiler = _clang(target.bits, macho=False)
    else:
        compiler = _gcc(target.bits)
        kernel_obj = _compile(compiler, source, directory / f"{tag}-kernel.o")
        driver = _compile(compiler, DRIVER_C.replace("SIZE", str(size)),
                          directory / f"{tag}-main.o")
        dynamic = directory / f"{tag}-dynamic"
        _run([*compiler, "-fuse-ld=bfd", "-o", str(dynamic), str(kernel_obj), str(driver)])
        free_compiler = compiler
    freestanding = _freestanding(free_compiler, source, size, target.bits,
                                 directory / f"{tag}-{'clang' if target.macho else 'gcc'}")
    return ComputeProgram(kernel, size, target, dynamic, freestanding, stdout)


def _link_macho(target: Target, objects: list[Path], out: Path) -> Path:
    arch = "x86_64" if target.bits == 64 else "i386"
    args = ["-arch", arch, "-platform_version", "macos",
            "10.9" if target.bits == 64 else "10.7", "12.0", "-o", str(out),
            *map(str, objects), str(LIBSYSTEM_TBD)]
    if target.linker == "ld64.lld":
        _run(["ld64.lld-14", *args])
    else:
        from linker.macho.cli import main as ld64_main

        if ld64_main(args) != 0:
            raise RuntimeError(f"linkharness refused to link {out}")
    return out


def _freestanding(compiler: list[str], source: str, size: int, bits: int, stem: Path) -> Path:
    """The kernel, a `_start` and FREESTANDING_C in one static image, no libc."""
    objs = [
        _compile(compiler, source, stem.with_name(stem.name + "-free-kernel.o")),
        _compile(compiler, START_C.replace("SIZE", str(size)),
                 stem.with_name(stem.name + "-start.o"), ("-fno-pie",)),
        _compile(compiler, FREESTANDING_C, stem.with_name(stem.name + "-libc.o"),
                 ("-ffreestanding",)),
    ]
    image = stem.with_name(stem.name + "-freestanding")
    _run(["ld", "-m", "elf_x86_64" if bits == 64 else "elf_i386", "-static", "-nostdlib",
          "-e", "_start", "-o", str(image), *map(str, objs)])
    return image


def build_all(directory: Path, sizes: dict[str, int] | None = None,
              kernels: tuple[str, ...] = tuple(KERNELS),
              targets: tuple[Target, ...] = TARGETS) -> list[ComputeProgram]:
    """Every kernel for every target (default sizes: KERNELS)."""
    directory.mkdir(parents=True, exist_ok=True)
    programs = []
    for kernel in kernels:
        size = (sizes or {}).get(kernel, KERNELS[kernel][1])
        outputs = {bits: native_stdout(kernel, size, directory, bits)
                   for bits in {t.bits for t in targets}}
        programs += [build(kernel, size, t, directory, outputs[t.bits]) for t in targets]
    return programs
