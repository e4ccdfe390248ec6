/* A second object adding one entry to each table: it must run after main.c's entries in
 * .preinit_array/.init_array (command-line order) and before them in .fini_array (reverse). */
#include <unistd.h>

void note(const char *s);

static void pre3(void) { note("P3 "); }
static void init3(void) { note("I3 "); }
static void fini3(void) { write(1, "F3 ", 3); }

__attribute__((section(".preinit_array"), used)) static void (*const preinit3)(void) = pre3;
__attribute__((section(".init_array"), used)) static void (*const init3_entry)(void) = init3;
__attribute__((section(".fini_array"), used)) static void (*const fini3_entry)(void) = fini3;
