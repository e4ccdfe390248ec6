/* Writes to a copy of the library's read-only data must fault, as the library's own would:
   GNU ld places that copy where -z relro (its default) seals it after relocation. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
extern const char readonly[100];
extern char readwrite[100];
static volatile int faulted;
static jmp_buf back;
static void on_segv(int sig) { (void)sig; faulted = 1; longjmp(back, 1); }
int main(void) {
  signal(SIGSEGV, on_segv);
  readwrite[0] = 'x';
  int after_rw = faulted;
  if (setjmp(back) == 0) *(volatile char *)readonly = 'x';
  printf("%s %s faults %d %d\n", readonly + 1, readwrite, after_rw, faulted);
  return 0;
}
