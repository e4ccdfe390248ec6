/* A shared library exporting two STT_GNU_IFUNCs: `scale`, which nothing in the library
   calls (so it has no PLT entry here and must be exported as an IFUNC at its resolver),
   and `offset`, which the library calls itself. */
static int scale_by_three(int x) { return 3 * x; }
static int offset_by_seven(int x) { return x + 7; }

typedef int Op(int);

static Op *choose_scale(void) { return scale_by_three; }
static Op *choose_offset(void) { return offset_by_seven; }

int scale(int) __attribute__((ifunc("choose_scale")));
int offset(int) __attribute__((ifunc("choose_offset")));

int offset_twice(int x) { return offset(offset(x)); }
