"""i386 Mach-O test sources shared by the field-oracle tests and the seeded-bug tests: every
addressing form llvm-mc-14 emits for i386 (FORMS, with EXT defining its data import), and a
clang-14 hello world (HELLO) whose PIC code reaches data through SECTDIFF pairs."""

from __future__ import annotations

# Every addressing form llvm-mc emits for i386 Mach-O (the offsets in the comments are the
# field's place, which the tests below rely on).
FORMS = r"""
    .text
    .globl _main
_main:
    calll _printf          # +0x01 pcrel extern: the field holds -(0x01 + 4)
    calll _helper          # same section: resolved by the assembler, no entry
    calll _other           # +0x0b pcrel non-extern (section 2)
    movl _var, %eax        # +0x10 non-extern, a defined global: section 3 relative
    movl _var+4, %eax      # +0x15 scattered VANILLA, r_value = _var
    movl _ext+8, %eax      # +0x1a extern with addend 8 in the field
    movl L_local+12, %eax  # +0x1f scattered VANILLA, r_value = L_local
    calll L0$pb
L0$pb:
    popl %eax
    leal _var-L0$pb(%eax), %ecx                # +0x2b SECTDIFF
    leal L_local-L0$pb(%eax), %ecx             # +0x31 LOCAL_SECTDIFF
    movl L_ext$non_lazy_ptr-L0$pb(%eax), %ecx  # +0x37 LOCAL_SECTDIFF into __pointers
    calll _other+1                              # +0x3c scattered pcrel
    xorl %eax, %eax
    retl
_helper:
    retl
    .section __TEXT,__other,regular,pure_instructions
_other:
    retl
    nop
    .data
    .globl _var
_var:
    .long 1
    .long 2
L_local:
    .long _ext
    .long _ext+4
    .long _var
    .long _var+4
    .long L_local
    .long L_local+8
    .short _var
    .long L_local - _main
    .long _var + 100
    .section __IMPORT,__pointers,non_lazy_symbol_pointers
L_ext$non_lazy_ptr:
    .indirect_symbol _ext
    .long 0
"""
EXT = """
    .data
    .globl _ext
_ext:
    .long 11, 22, 33
"""
HELLO = r"""
#include <stdio.h>
#include <stdlib.h>
static int counter = 3;
int *pointer = &counter;
const char *names[] = {"alpha", "beta"};
static void bye(void) { puts("bye"); }
int main(int argc, char **argv) {
    atexit(bye);
    printf("hello %d %s\n", *pointer, names[argc & 1]);
    fprintf(__stdoutp, "%s\n", argv[argc - 1]);
    return 7;
}
"""
# A one-byte LOCAL_SECTDIFF (`_g - .`, which llvm-mc leaves to the linker because _g starts
# another atom), a pc-relative jump to another section, and scattered data references.
FORMS_MORE = r"""
    .text
_f:
    calll _other2+1        # +0x01 scattered pcrel
    jmp _g                 # same atom chain: resolved by the assembler
    .byte 0xeb
    .byte _g - .           # +0x08 LOCAL_SECTDIFF, one byte
_g: retl
    jmp L_far              # +0x0b pcrel non-extern (section 2)
    .section __TEXT,__other,regular,pure_instructions
_other2:
    retl
    nop
L_far: retl
    .data
    .long L_far
    .long _other2+1
"""
# No libSystem: Darwin i386 system calls (`int $0x80`, the number in eax, the arguments on
# the stack above a stub's return address); a failure sets the carry flag, errno in eax.
SYSCALLS = r"""
.text
.globl _main
_main:
    calll L0
L0: popl %ecx
    subl $12, %esp
    pushl $6
    leal msg-L0(%ecx), %eax
    pushl %eax
    pushl $1
    movl $4, %eax          # write(1, msg, 6)
    calll Lsys
    jc Lfailed
    movl $4, %eax          # write to a closed descriptor: carry set, eax = EBADF (9)
    movl $7, (%esp)
    calll Lsys
    jnc Lfailed
    addl $33, %eax
    movl %eax, (%esp)
    movl $1, %eax          # exit(42)
    calll Lsys
Lfailed:
    movl $1, (%esp)
    movl $1, %eax
    calll Lsys
    hlt
Lsys:
    int $0x80
    retl
.section __TEXT,__cstring
msg: .asciz "hello\n"
"""
# Imports from a libtrace dylib: recorders called directly and through a bound function
# pointer, and a data import with an addend (&lt1_d1[1]).
LIBTRACE = r"""
int printf(const char *, ...);
long lt1_f2_a2(long, long);
long lt1_f0_a0(void);
extern unsigned lt1_d1[4];
unsigned *second = &lt1_d1[1];
long (*recorder)(long, long) = lt1_f2_a2;
int main(void) {
    long r = recorder(5, 7);
    printf("%ld %ld %u\n", r, lt1_f0_a0(), *second);
    return 0;
}
"""
LIBTRACE_TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ i386-macos ]
install-name:    '/usr/lib/libtrace1.dylib'
current-version: 1
compatibility-version: 1
exports:
  - targets:         [ i386-macos ]
    symbols:         [ _lt1_f2_a2, _lt1_f0_a0, _lt1_d1 ]
...
"""
# A call through the object's own `__IMPORT,__jump_table` entry (S_SYMBOL_STUBS, five hlt
# bytes, the indirect table names _puts), as old i386 compilers wrote them.
JUMP_TABLE = r"""
.text
.globl _main
_main:
    subl $12, %esp
    leal msg, %eax
    movl %eax, (%esp)
    calll L_puts$stub
    xorl %eax, %eax
    addl $12, %esp
    retl
.section __IMPORT,__jump_table,symbol_stubs,self_modifying_code+pure_instructions,5
L_puts$stub:
    .indirect_symbol _puts
    hlt ; hlt ; hlt ; hlt ; hlt
.section __TEXT,__cstring
msg: .asciz "jump table"
"""
# libSystem functions the shared emulated libc lacks (oracle/emulate/macho/libsystem_extra.py)
LIBC_EXTRAS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
double strtod(const char *, char **);
double atof(const char *);
char *strtok(char *, const char *);
char *strerror(int);
void perror(const char *);
long long llabs(long long);
int main(int argc, char **argv) {
    const char *inputs[] = {"  3.25xyz", "-1e3", "0x1.8p3", "inf", "nan", ".5e-2", "1e999", "abc", "+7."};
    for (int i = 0; i < 9; i++) {
        char *end;
        errno = 0;
        double v = strtod(inputs[i], &end);
        printf("%-10s -> %g rest=\"%s\" erange=%d\n", inputs[i], v, end, errno == ERANGE);
    }
    printf("atof %.3f\n", atof("2.5e1"));
    char line[] = "alpha, beta;;gamma ,delta";
    for (char *t = strtok(line, ",; "); t; t = strtok(NULL, ",; "))
        printf("token [%s]\n", t);
    printf("%s | %s | %s\n", strerror(ENOENT), strerror(EINVAL), strerror(ERANGE));
    errno = EDOM;
    perror("perror says");
    printf("llabs %lld %lld\n", llabs(-1234567890123LL * argc), llabs(42LL));
    return 0;
}
"""
# Structures by value, qsort, recursion, double and long long varargs, 64-bit division
# (___divdi3 & co from the compiler runtime), snprintf formats, setjmp/longjmp.
KITCHEN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <ctype.h>
#include <setjmp.h>
struct point { int x, y; double w; };
static struct point pts[] = {{3, 4, 1.5}, {-1, 7, 2.25}, {10, -2, -0.5}};
typedef long long ll;
static int cmp(const void *a, const void *b) {
    const struct point *p = a, *q = b;
    return (p->x * p->x + p->y * p->y) - (q->x * q->x + q->y * q->y);
}
static ll fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static double avg(int n, ...) {
    va_list ap; va_start(ap, n); double s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, double);
    va_end(ap); return s / n;
}
static ll sum_ll(int n, ...) {
    va_list ap; va_start(ap, n); ll s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, ll);
    va_end(ap); return s;
}
static struct point mid(struct point a, struct point b) {
    struct point m = {(a.x + b.x) / 2, (a.y + b.y) / 2, (a.w + b.w) / 2};
    return m;
}
static jmp_buf env;
static void deep(int n) { if (n == 0) longjmp(env, 42); deep(n - 1); }
int main(int argc, char **argv) {
    qsort(pts, 3, sizeof pts[0], cmp);
    for (int i = 0; i < 3; i++) printf("pt %d %d %.3f\n", pts[i].x, pts[i].y, pts[i].w);
    printf("fib %lld\n", fib(30));
    printf("avg %.4f\n", avg(4, 1.0, 2.5, 3.25, -0.75));
    printf("sum %lld\n", sum_ll(3, 1LL << 40, -5LL, 123456789012LL));
    struct point m = mid(pts[0], pts[2]);
    printf("mid %d %d %g\n", m.x, m.y, m.w);
    ll big = 0x123456789abcdefLL * argc;
    printf("%llx %llu %lld %016llX\n", big, (unsigned long long)big * 3, -big / 7, big ^ 0xffff);
    unsigned long long u = 18446744073709551615ULL;
    printf("u %llu %llu\n", u / 10, u % 1000);
    char buf[64];
    snprintf(buf, sizeof buf, "%-6s|%6.2f|%+d|%05x|%c|%%", "ab", 3.14159, 7, 255, 'Z');
    puts(buf);
    char *dup = malloc(strlen(buf) + 1); strcpy(dup, buf);
    for (char *c = dup; *c; c++) *c = toupper((unsigned char)*c);
    printf("%s %d\n", dup, (int)strlen(dup));
    free(dup);
    int r = setjmp(env);
    if (r == 0) deep(10); else printf("jumped %d\n", r);
    double d = 1.0; for (int i = 0; i < 10; i++) d = d * 1.5 + 0.25;
    printf("d %.10e %g %f\n", d, d / 3, (float)d);
    long l = -123456789L; printf("long %ld %lu\n", l, (unsigned long)l);
    return (int)(fib(10) % 7);
}
"""
DIVIDE_BY_ZERO = r"""
int main(int argc, char **argv) {
    long long a = 1000000000000LL * argc, b = argc - 1;
    return (int)(a / b);
}
"""
# Loops filling arrays with one non-byte value: clang on Darwin calls memset_pattern16
PATTERN_FILL = r"""
#include <stdio.h>
double a[37]; int b[29]; long long c[13]; short d[11];
int main(int argc, char **argv) {
    for (int i = 0; i < 37; i++) a[i] = 1.5 * argc;
    for (int i = 0; i < 29; i++) b[i] = 0x01020304;
    for (int i = 0; i < 13; i++) c[i] = 7;
    for (int i = 0; i < 11; i++) d[i] = 0x0a0b;
    double s = 0; long long t = 0;
    for (int i = 0; i < 37; i++) s += a[i];
    for (int i = 0; i < 29; i++) t += b[i];
    for (int i = 0; i < 13; i++) t += c[i];
    for (int i = 0; i < 11; i++) t += d[i];
    printf("%g %lld\n", s, t);
    return 0;
}
"""
# memset(p, 0, n) becomes ___bzero at -O2; sin and cos of one value become x86-64's
# ___sincos_stret (macOS 10.9 and later)
ZERO_AND_SINCOS = r"""
#include <stdio.h>
#include <string.h>
#include <math.h>
char buf[300];
int main(int argc, char **argv) {
    memset(buf, 'x', sizeof buf);
    memset(buf + 10, 0, 100 * argc);
    int zeros = 0; for (int i = 0; i < 300; i++) zeros += buf[i] == 0;
    double x = 0.5 * argc;
    printf("zeros %d sincos %.6f %.6f\n", zeros, sin(x), cos(x));
    return 0;
}
"""
# Reading stdin: scanf (ints, a double, a word), then getchar to the end
READ_STDIN = r"""
#include <stdio.h>
int main(void) {
    int n, total = 0; double d; char word[32];
    if (scanf("%d", &n) != 1) return 1;
    for (int i = 0; i < n; i++) { int v; scanf("%d", &v); total += v; }
    scanf("%lf %31s", &d, word);
    printf("n=%d total=%d d=%.3f word=%s\n", n, total, d, word);
    int c, rest = 0; while ((c = getchar()) != EOF) rest += c != '\n';
    printf("rest %d\n", rest);
    return 0;
}
"""
# libm extras, a tmpfile written, measured, rewound, re-read and sought, and _Exit
MISC = r"""
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <unistd.h>
double cbrt(double); double log2(double); double fmax(double, double); double fmin(double, double);
double copysign(double, double); double tanh(double); double expm1(double); long lrint(double);
FILE *tmpfile(void); int fseek(FILE *, long, int); long ftell(FILE *); void rewind(FILE *);
int isatty(int);
int main(int argc, char **argv) {
    double x = 2.0 * argc;
    printf("%.6f %.6f %.6f %.6f %.6f %.6f %.6f %ld\n", cbrt(x * 4), log2(x * 8), fmax(x, 3.0),
           fmin(x, 3.0), copysign(x, -1.0), tanh(x / 4), expm1(x / 10), lrint(x * 2.6));
    FILE *f = tmpfile();
    fprintf(f, "hello %d\n", 42);
    long at = ftell(f);
    rewind(f);
    char buf[32];
    fgets(buf, sizeof buf, f);
    fseek(f, 6, SEEK_SET);
    int c = fgetc(f);
    printf("at=%ld line=%s char=%c\n", at, buf, c);
    fclose(f);
    fflush(stdout);
    _Exit(3);
}
"""
# The project's Darwin headers declare what the emulated libSystem serves (compiled with
# -Werror=implicit-function-declaration); assert() fails through __assert_rtn
HEADERS = r"""
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char text[] = "3.5,1e2;-0.25";
    double sum = 0;
    for (char *t = strtok(text, ",;"); t; t = strtok(NULL, ",;"))
        sum += strtod(t, NULL) + atof("0");
    printf("sum %.3f cbrt %.3f llabs %lld err %s\n", sum, cbrt(27.0 * argc), llabs(-5LL),
           strerror(2));
    assert(argc >= 1);
    fflush(stdout);
    assert(argc == 5);
    return 0;
}
"""
# An absolute symbol (N_ABS, `_K = 0x1234`) defined in one object and used in another:
# its value is S, which no section move or slide changes (linkers may drop it from the
# output's symbol table)
ABS_DEF = """
    .globl _K
    _K = 0x1234
    .data
    .globl _anchor
_anchor: .long 1
"""
ABS_USE = {
    "i386": """
    .text
    .globl _main
_main:
    movl $_K+4, %eax
    xorl %eax, %eax
    retl
    .data
    .long _K
    .long _K+8
""",
    "x86_64": """
    .text
    .globl _main
_main:
    movl $_K+4, %eax
    xorl %eax, %eax
    retq
    .data
    .quad _K
    .quad _K+8
""",
}
