/* Thousands of RELATIVE relocations (or, linked -z pack-relative-relocs, a DT_RELR
   table): pointers to every element of two arrays and to functions, with holes between
   them, so the emulated ld.so's bulk path meets runs of every length.  The program
   checks each against the address it computes itself. */
#include <stdio.h>

#define N 3000
static int ints[N];
static char chars[N];
static int f0(void) { return 0; }
static int f1(void) { return 1; }

#define P4(i) &ints[i], &ints[i + 1], &ints[i + 2], &ints[i + 3]
#define P16(i) P4(i), P4(i + 4), P4(i + 8), P4(i + 12)
#define P64(i) P16(i), P16(i + 16), P16(i + 32), P16(i + 48)
#define P256(i) P64(i), P64(i + 64), P64(i + 128), P64(i + 192)
static int *int_ptrs[1024] = {P256(0), P256(256), P256(512), P256(768)};

struct holey { char *c; long gap; int (*fn)(void); int *i; };
#define H(i) {&chars[i], i, (i) % 2 ? f1 : f0, (i) % 3 ? &ints[i] : 0}
#define H4(i) H(i), H(i + 1), H(i + 2), H(i + 3)
#define H16(i) H4(i), H4(i + 4), H4(i + 8), H4(i + 12)
#define H64(i) H16(i), H16(i + 16), H16(i + 32), H16(i + 48)
static struct holey holes[256] = {H64(0), H64(64), H64(128), H64(192)};

int main(void) {
    long bad = 0, sum = 0;
    for (int i = 0; i < 1024; i++)
        bad += int_ptrs[i] != &ints[i];
    for (int i = 0; i < 256; i++) {
        bad += holes[i].c != &chars[i] || holes[i].gap != i;
        bad += holes[i].i != ((i % 3) ? &ints[i] : 0);
        sum += holes[i].fn();
    }
    printf("bad %ld, sum %ld\n", bad, sum);
    return bad != 0;
}
