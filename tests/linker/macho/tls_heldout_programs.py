"""Held-out thread-local programs (issue 21's "done when"): C and C++ sources written for
this check, not taken from the generators or the other TLV tests.  Each prints and exits
with a status computed from its thread-local state, and must do so identically natively
on Linux (gcc/g++) and under the emulated dyld (clang-14 for Darwin, linked by
linkharness with and without chained fixups, and by ld64.lld-14).

Every program is deterministic natively although its threads run concurrently there: a
thread prints only when the others are joined or not yet created, or it leaves its result
in a slot of its own for main to print after pthread_join (the emulated libSystem runs a
thread to completion inside pthread_create).

A program is a set of files: `*.c`/`*.cpp` objects of the executable, and `lib*.c` ones
that go into a dylib (`libtls.dylib`) which the executable links against (natively, the
same files are linked into one executable, as the dylib's install name is only a name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TlsProgram:
    name: str
    files: dict[str, str]
    i386: bool = True  # also built for i386 (clang's -target i386-apple-macosx10.7)

    @property
    def cxx(self) -> bool:
        return any(n.endswith(".cpp") for n in self.files)

    @property
    def dylib_files(self) -> list[str]:
        return [n for n in self.files if n.startswith("lib")]

    @property
    def exe_files(self) -> list[str]:
        return [n for n in self.files if not n.startswith("lib")]


SCALARS = r"""
#include <stdio.h>
_Thread_local int ti = -7;
_Thread_local long long tll = 0x123456789abcLL;
_Thread_local double td = 2.25;
_Thread_local float tf = -0.5f;
_Thread_local char tc = 'q';
_Thread_local unsigned short tus;
_Thread_local double tdz;
static _Thread_local int sti = 11;
static _Thread_local long stz;
__thread int gnu_style = 5;
int main(void) {
    printf("%d %llx %.2f %.2f %c %u %.1f %d %ld %d\n", ti, tll, td, (double)tf, tc, tus,
           tdz, sti, stz, gnu_style);
    ti *= 3; tll >>= 4; td = td * td; tf += 2.0f; tc++; tus = 65535; tus++;
    tdz -= 1.5; sti += ti; stz = (long)tll & 0xffff; gnu_style <<= 2;
    printf("%d %llx %.4f %.2f %c %u %.1f %d %ld %d\n", ti, tll, td, (double)tf, tc, tus,
           tdz, sti, stz, gnu_style);
    return (ti + sti + (int)td + gnu_style + tc) & 0xff;
}
"""

AGGREGATES = r"""
#include <stdio.h>
#include <string.h>
struct point { short x, y; };
struct shape { char name[10]; struct point pts[3]; double scale; unsigned char flags; };
_Thread_local int primes[8] = {2, 3, 5, 7, 11, 13};
_Thread_local struct shape tri = {"tri", {{0, 0}, {4, 0}, {0, 3}}, 1.5, 0x81};
_Thread_local struct shape blank;
_Thread_local long long big[300];
_Thread_local char text[] = "thread-local text";
static long area2(const struct shape *s) {
    long a = 0;
    for (int i = 0; i < 3; i++) {
        const struct point *p = &s->pts[i], *q = &s->pts[(i + 1) % 3];
        a += (long)p->x * q->y - (long)q->x * p->y;
    }
    return a < 0 ? -a : a;
}
int main(void) {
    int sum = 0;
    for (int i = 0; i < 8; i++) sum += primes[i];
    printf("%d %s %ld %.2f %x %zu\n", sum, tri.name, area2(&tri), tri.scale, tri.flags,
           strlen(text));
    blank = tri;
    strcpy(blank.name, "copy");
    blank.pts[2].y = 10;
    blank.scale *= 4;
    for (int i = 0; i < 300; i++) big[i] = (long long)i * i * 1000003LL;
    memcpy(text, "THREAD", 6);
    primes[6] = 17; primes[7] = primes[6] + 2;
    sum = 0;
    for (int i = 0; i < 8; i++) sum += primes[i];
    printf("%s %ld %.1f %s %lld %d %s\n", blank.name, area2(&blank), blank.scale, tri.name,
           big[299] % 100000, sum, text);
    return (int)(area2(&blank) + sum) % 200;
}
"""

POINTERS = r"""
#include <stdio.h>
int g_one = 1, g_two = 2;
static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
const char *const words[] = {"alpha", "beta", "gamma"};
_Thread_local int *tp = &g_two;
_Thread_local int (*op)(int) = twice;
_Thread_local const char *msg = "hello";
_Thread_local const char *const *wp = &words[1];
_Thread_local int *nullp;
struct node { int v; struct node *next; };
struct node n3 = {3, 0}, n2 = {2, &n3};
_Thread_local struct node head = {1, &n2};
int main(void) {
    int s = 0;
    for (struct node *n = &head; n; n = n->next) s = s * 10 + n->v;
    printf("%d %d %s %s %d %d\n", *tp, op(21), msg, *wp, nullp == 0, s);
    tp = &g_one; op = square; msg = words[2]; wp++; nullp = &head.v;
    *nullp = 9;
    s = 0;
    for (struct node *n = &head; n; n = n->next) s = s * 10 + n->v;
    printf("%d %d %s %s %d\n", *tp, op(12), msg, *wp, s);
    return op(*tp + 4) + s % 7;
}
"""

THREADS = r"""
#include <stdio.h>
#include <pthread.h>
#define N 4
_Thread_local int counter = 100;
_Thread_local double acc = 0.5;
_Thread_local char tag[8] = "main";
static int seen[N];
static double acc_seen[N];
static char tags[N][8];
static void *work(void *arg) {
    long id = (long)arg;
    for (long i = 0; i <= id; i++) counter += (int)(i + 1) * 10;
    acc *= (double)(id + 2);
    tag[0] = (char)('A' + id); tag[1] = 0;
    seen[id] = counter;
    acc_seen[id] = acc;
    for (int i = 0; i < 8; i++) tags[id][i] = tag[i];
    return (void *)(long)(counter - 100);
}
int main(void) {
    pthread_t t[N];
    for (long i = 0; i < N; i++) pthread_create(&t[i], 0, work, (void *)i);
    long total = 0;
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (long)r;
    }
    for (int i = 0; i < N; i++) printf("%d %.2f %s\n", seen[i], acc_seen[i], tags[i]);
    printf("main %d %.2f %s %ld\n", counter, acc, tag, total);
    return (int)(total % 256);
}
"""

ADDRESS_SHARED = r"""
#include <stdio.h>
#include <pthread.h>
_Thread_local int slot = 1;
_Thread_local long history[4];
struct job { int *target; long *log; int add; int mine_after; };
static void *work(void *arg) {
    struct job *j = arg;
    *j->target += j->add;      /* main's copy, through the address main took */
    j->log[1] = j->add * 3;
    slot += 1000;              /* this thread's own copy */
    history[0] = slot;
    j->mine_after = slot + (int)history[0];
    return &slot;              /* the address of this thread's copy */
}
int main(void) {
    struct job j = {&slot, history, 41, 0};
    pthread_t t;
    pthread_create(&t, 0, work, &j);
    void *theirs;
    pthread_join(t, &theirs);
    printf("%d %ld %d %d %d\n", slot, history[1], j.mine_after, theirs != (void *)&slot,
           j.target == &slot);
    return slot + (int)history[1];
}
"""

EXTERN_A = r"""
#include <stdio.h>
#include <pthread.h>
extern _Thread_local int shared_count;
extern _Thread_local char shared_name[16];
extern _Thread_local struct pair { int a; double b; } shared_pair;
_Thread_local int local_only = 3;
int bump(int by);
void rename_to(const char *s);
static void *other(void *arg) {
    bump((int)(long)arg);
    rename_to("worker");
    printf("thread %d %s %.1f\n", shared_count, shared_name, shared_pair.b);
    return 0;
}
int main(void) {
    printf("%d %s %d %.1f\n", shared_count, shared_name, shared_pair.a, shared_pair.b);
    bump(5);
    shared_pair.a += local_only;
    pthread_t t;
    pthread_create(&t, 0, other, (void *)70);
    pthread_join(t, 0);
    rename_to("main");
    printf("%d %s %d %.1f\n", shared_count, shared_name, shared_pair.a, shared_pair.b);
    return shared_count + shared_pair.a;
}
"""
EXTERN_B = r"""
#include <string.h>
_Thread_local int shared_count = 20;
_Thread_local char shared_name[16] = "initial";
_Thread_local struct pair { int a; double b; } shared_pair = {4, 0.25};
int bump(int by) { shared_count += by; shared_pair.b += by; return shared_count; }
void rename_to(const char *s) { strcpy(shared_name, s); }
"""

DYLIB_MAIN = r"""
#include <stdio.h>
#include <pthread.h>
extern _Thread_local int lib_level;
extern _Thread_local double lib_ratio;
int lib_step(int);
const char *lib_describe(void);
_Thread_local int exe_own = 9;
static void *work(void *arg) {
    lib_level = (int)(long)arg;
    lib_step(2);
    printf("thread %s\n", lib_describe());
    return (void *)(long)lib_level;
}
int main(void) {
    printf("%s %d\n", lib_describe(), exe_own);
    lib_level += exe_own;
    lib_ratio *= 4;
    pthread_t t;
    void *r;
    pthread_create(&t, 0, work, (void *)500);
    pthread_join(t, &r);
    lib_step(1);
    printf("main %s %ld\n", lib_describe(), (long)r);
    return lib_level + (int)lib_ratio;
}
"""
DYLIB_LIB = r"""
#include <stdio.h>
_Thread_local int lib_level = 1;
_Thread_local double lib_ratio = 1.5;
static _Thread_local char lib_buf[48];
static _Thread_local int lib_calls;
int lib_step(int n) { lib_calls++; lib_level += n * 10; lib_ratio += n; return lib_level; }
const char *lib_describe(void) {
    snprintf(lib_buf, sizeof lib_buf, "lvl=%d ratio=%.2f calls=%d", lib_level, lib_ratio,
             lib_calls);
    return lib_buf;
}
"""

ALIGNED = r"""
#include <stdio.h>
#include <stdint.h>
_Thread_local char before = 'b';
_Thread_local double vec[4] __attribute__((aligned(64))) = {1.0, 2.0, 3.0, 4.0};
_Thread_local char mid;
_Thread_local long long wide __attribute__((aligned(32))) = -3;
_Thread_local int zero_aligned[5] __attribute__((aligned(128)));
_Thread_local short after = 77;
int main(void) {
    double s = 0;
    for (int i = 0; i < 4; i++) s += vec[i] * (i + 1);
    zero_aligned[4] = 6;
    mid = 'm';
    /* dyld's per-thread block comes from malloc: 16 bytes is what both systems promise */
    int a16 = ((uintptr_t)vec % 16 == 0) + ((uintptr_t)&wide % 16 == 0)
              + ((uintptr_t)zero_aligned % 16 == 0);
    printf("%c %.1f %c %lld %d %d %d\n", before, s, mid, wide, zero_aligned[4],
           zero_aligned[0], after);
    printf("%d\n", a16);
    return (int)s + after + a16;
}
"""

STATIC_LOCALS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
static int compare_calls(void) { static _Thread_local int calls; return ++calls; }
static _Thread_local long depth_max;
static int cmp(const void *a, const void *b) {
    compare_calls();
    return *(const int *)a - *(const int *)b;
}
static long depth(int n) {
    static _Thread_local long level;
    level++;
    if (level > depth_max) depth_max = level;
    long r = n <= 1 ? 1 : n + depth(n - 1);
    level--;
    return r;
}
static void *work(void *arg) {
    int v[6] = {5, 1, 4, 2, 6, 3};
    qsort(v, 6, sizeof v[0], cmp);
    long d = depth((int)(long)arg);
    return (void *)(d * 1000 + depth_max * 10 + (compare_calls() > 1));
}
int main(void) {
    int v[5] = {9, 7, 8, 6, 5};
    qsort(v, 5, sizeof v[0], cmp);
    int before = compare_calls();
    long d = depth(12);
    pthread_t t;
    void *r;
    pthread_create(&t, 0, work, (void *)4);
    pthread_join(t, &r);
    printf("%d %d %d %ld %ld %ld %d\n", v[0], v[4], before > 1, d, depth_max, (long)r,
           compare_calls() == before + 1);
    return (int)(d + depth_max) & 0x7f;
}
"""

MANY = r"""
#include <stdio.h>
#include <pthread.h>
#define V(n) _Thread_local int v##n = n * 3; static _Thread_local unsigned char z##n;
#define V10(n) V(n##0) V(n##1) V(n##2) V(n##3) V(n##4) V(n##5) V(n##6) V(n##7) V(n##8) V(n##9)
V10(1) V10(2) V10(3) V10(4)
#define S(n) + v##n + z##n
#define S10(n) S(n##0) S(n##1) S(n##2) S(n##3) S(n##4) S(n##5) S(n##6) S(n##7) S(n##8) S(n##9)
static int total(void) { return 0 S10(1) S10(2) S10(3) S10(4); }
static void *work(void *arg) {
    z10 = 1; v25 += (int)(long)arg; z49 = 200;
    return (void *)(long)total();
}
int main(void) {
    int first = total();
    v10 = 0; z33 = 33;
    pthread_t t;
    void *r;
    pthread_create(&t, 0, work, (void *)1000);
    pthread_join(t, &r);
    printf("%d %d %ld\n", first, total(), (long)r);
    return total() % 256;
}
"""

CXX_OBJECTS = r"""
extern "C" int printf(const char *, ...);
#include <pthread.h>
static int next_id = 1;
struct Tracker {
    int id, uses;
    const char *kind;
    Tracker(const char *k) : id(next_id++), uses(0), kind(k) { printf("+%s#%d\n", kind, id); }
    ~Tracker() { printf("-%s#%d uses=%d\n", kind, id, uses); }
    int use() { return ++uses; }
};
struct Plain { int a = 4; double b = 0.5; };
thread_local Tracker session("session");
thread_local Plain plain;
static thread_local int computed = next_id * 100;
static Tracker &lazy() { thread_local Tracker inner("inner"); return inner; }
static void *work(void *arg) {
    long n = (long)arg;
    for (long i = 0; i < n; i++) session.use();
    if (n > 2) lazy().use();
    plain.a += (int)n;
    printf("worker %ld %d %d %.1f\n", n, session.uses, plain.a, plain.b + computed);
    return 0;
}
int main() {
    session.use();
    for (long n = 1; n <= 3; n++) {
        pthread_t t;
        pthread_create(&t, 0, work, (void *)n);
        pthread_join(t, 0);
    }
    lazy().use();
    lazy().use();
    printf("main %d %d %d %d\n", session.uses, lazy().uses, plain.a, computed);
    return session.id * 10 + lazy().id;
}
"""

THREAD_EXIT = r"""
#include <stdio.h>
#include <pthread.h>
_Thread_local int depth = 1;
_Thread_local long trail[4] = {9, 9, 9, 9};
static long seen[3];
static void descend(int n, long id) {
    depth++;
    trail[n % 4] = id * 10 + n;
    if (n == 0) {
        seen[id] = depth * 1000 + trail[0] + trail[1];
        pthread_exit((void *)(id + depth));  /* from deep inside: the frames are abandoned */
    }
    descend(n - 1, id);
    depth = -1;  /* never reached */
}
static void *work(void *arg) { descend((int)(long)arg + 2, (long)arg); return 0; }
int main(void) {
    long total = 0;
    for (long i = 0; i < 3; i++) {
        pthread_t t;
        void *r;
        int before = depth;
        pthread_create(&t, 0, work, (void *)i);
        pthread_join(t, &r);
        total += (long)r;
        printf("%ld %ld %d\n", (long)r, seen[i], before == depth);
    }
    printf("%d %ld %ld\n", depth, trail[0], total);
    return (int)total;
}
"""

CXX_DYLIB_MAIN = r"""
extern "C" int printf(const char *, ...);
#include <pthread.h>
int touch(int);
struct Local { int v; Local() : v(1) { printf("+local\n"); } ~Local() { printf("-local %d\n", v); } };
thread_local Local mine;
static void *work(void *) {
    mine.v = 50;
    printf("thread %d\n", touch(5));
    pthread_exit((void *)3);
}
int main() {
    printf("main %d\n", touch(1));
    pthread_t t;
    void *r;
    pthread_create(&t, 0, work, 0);
    pthread_join(t, &r);
    printf("joined %ld %d\n", (long)r, mine.v);
    return touch(0) + 10;
}
"""
CXX_DYLIB_LIB = r"""
extern "C" int printf(const char *, ...);
struct Res { int n; Res() : n(0) { printf("+res\n"); } ~Res() { printf("-res %d\n", n); } };
thread_local Res res;
int touch(int by) { res.n += by; return res.n; }
"""

PTHREAD_KEYS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
static pthread_key_t key, again, gone;
static int rounds;
static char log_[64];
static int at;
static void note(char c) { log_[at++] = c; log_[at] = 0; }
static void free_it(void *p) { note('f'); free(p); }
static void reset(void *p) {  /* sets another value once: a second round runs */
    note('r');
    if (rounds++ == 0) pthread_setspecific(again, (void *)2);
}
static void never(void *p) { note('N'); }
_Thread_local int tl = 5;
static void *work(void *arg) {
    int *mine = malloc(sizeof *mine);
    *mine = (int)(long)arg;
    pthread_setspecific(key, mine);
    pthread_setspecific(again, (void *)1);
    pthread_setspecific(gone, (void *)3);
    tl += *mine;
    if (*mine > 1) pthread_exit((void *)(long)tl);
    return (void *)(long)tl;
}
int main(void) {
    pthread_key_create(&key, free_it);
    pthread_key_create(&again, reset);
    pthread_key_create(&gone, never);
    pthread_key_delete(gone);
    pthread_setspecific(key, malloc(4));  /* main's value: no destructor at exit() */
    for (long i = 1; i <= 2; i++) {
        pthread_t t;
        void *r;
        rounds = 0;
        pthread_create(&t, 0, work, (void *)i);
        pthread_join(t, &r);
        printf("%ld %s %d\\n", (long)r, log_, rounds);
        at = 0;
    }
    return tl;
}
"""

ERRNO_PER_THREAD = r"""
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <pthread.h>
static int seen;
static void *work(void *arg) {
    errno = 0;
    long v = strtol("99999999999999999999999", 0, 10);
    seen = errno;
    return (void *)(long)(v > 0);
}
int main(void) {
    errno = 7;
    pthread_t t;
    void *r;
    pthread_create(&t, 0, work, 0);
    pthread_join(t, &r);
    printf("%d %d %ld\\n", errno, seen == ERANGE, (long)r);
    return errno;
}
"""

LARGE = r"""
#include <stdio.h>
#include <pthread.h>
_Thread_local char big[1 << 20];
_Thread_local int tail_value = 77;
static void *work(void *arg) { big[(1 << 20) - 1] = 9; big[12345] = (char)(long)arg; return (void *)(long)(big[(1 << 20) - 1] + big[12345] + tail_value); }
int main(void) {
    big[0] = 1;
    pthread_t t; void *r;
    pthread_create(&t, 0, work, (void *)5);
    pthread_join(t, &r);
    printf("%ld %d %d %d\\n", (long)r, big[0], big[(1 << 20) - 1], tail_value);
    return (int)(long)r;
}
"""

PROGRAMS = [
    TlsProgram("scalars", {"main.c": SCALARS}),
    TlsProgram("aggregates", {"main.c": AGGREGATES}),
    TlsProgram("pointers", {"main.c": POINTERS}),
    TlsProgram("threads", {"main.c": THREADS}),
    TlsProgram("address-shared", {"main.c": ADDRESS_SHARED}),
    TlsProgram("extern-two-objects", {"main.c": EXTERN_A, "defs.c": EXTERN_B}),
    TlsProgram("dylib", {"main.c": DYLIB_MAIN, "libtls.c": DYLIB_LIB}),
    TlsProgram("aligned", {"main.c": ALIGNED}),
    TlsProgram("static-locals", {"main.c": STATIC_LOCALS}),
    TlsProgram("many", {"main.c": MANY}),
    TlsProgram("cxx-objects", {"main.cpp": CXX_OBJECTS}),
    TlsProgram("thread-exit", {"main.c": THREAD_EXIT}),
    TlsProgram("cxx-dylib-thread-exit", {"main.cpp": CXX_DYLIB_MAIN, "libres.cpp": CXX_DYLIB_LIB}),
    TlsProgram("pthread-keys", {"main.c": PTHREAD_KEYS}),
    TlsProgram("errno-per-thread", {"main.c": ERRNO_PER_THREAD}),
    TlsProgram("large-zero-array", {"main.c": LARGE}),
]
