/* Writes to a copy of the library's read-only (or RELRO-sealed) data must fault, as the
   library's own would: GNU ld places that copy where -z relro (its default) seals it. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

extern const char readonly[100];
extern char sealed[100];
extern char readwrite[100];

static volatile int faults;
static sigjmp_buf back;

static void on_segv(int sig) {
  (void)sig;
  faults++;
  siglongjmp(back, 1);
}

int main(void) {
  signal(SIGSEGV, on_segv);
  readwrite[0] = 'x';
  int after_rw = faults;
  if (sigsetjmp(back, 1) == 0) *(volatile char *)readonly = 'x';
  if (sigsetjmp(back, 1) == 0) sealed[0] = 'x';
  printf("%s %s %s faults %d %d\n", readonly + 1, sealed + 1, readwrite, after_rw, faults);
  return 0;
}
