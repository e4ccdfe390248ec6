/* C the hostile campaigns compile with the system's own compiler (fuzz/hostile/seeds_real.py):
   weak, hidden and protected symbols, an IFUNC, thread-locals (initialized and not), a
   constructor in .init_array and one in .ctors, string literals (SHF_MERGE|SHF_STRINGS),
   calls into zlib (the system-so and system-archive targets link it). */
#include <stdio.h>
#include <string.h>
#ifndef NO_ZLIB
#include <zlib.h>
#else /* i386: no 32-bit zlib on the host */
#define crc32(a, b, c) ((unsigned long)(a) + (c))
#define adler32(a, b, c) ((unsigned long)(a) + (c))
#define zlibVersion() "none"
#endif

int cxx_part(int n);

__attribute__((weak)) int weak_counter = 1;
__attribute__((visibility("hidden"))) int hidden_value = 2;
__attribute__((visibility("protected"))) int protected_twice(int x) { return 2 * x; }
__attribute__((weak)) int weak_hook(int x) { return x + 1; }

__thread int tls_count = 5;
__thread char tls_scratch[64];

static int pick_plain(int x) { return x + 10; }
static int pick_fancy(int x) { return x + 20; }
static int (*resolve_pick(void))(int) { return weak_counter > 0 ? pick_fancy : pick_plain; }
int picked(int x) __attribute__((ifunc("resolve_pick")));

static int started;
__attribute__((constructor(200))) static void early(void) { started += 1; }
static void legacy(void) { started += 100; }
__attribute__((section(".ctors"), used)) static void (*legacy_entry)(void) = legacy;

static const char *const greetings[] = {"hello, hostile world", "world", "hostile"};

int main(int argc, char **argv) {
  const char *text = greetings[argc % 3];
  unsigned long sum = crc32(0L, (const unsigned char *)text, (unsigned)strlen(text));
  sum += adler32(1L, (const unsigned char *)text, 5);
  strncpy(tls_scratch, argv[0], sizeof tls_scratch - 1);
  tls_count += picked(argc) + protected_twice(hidden_value) + weak_hook(started);
  printf("%s %lu %d %s %d\n", text, sum, tls_count, zlibVersion(), cxx_part(argc + 2));
  return 0;
}
