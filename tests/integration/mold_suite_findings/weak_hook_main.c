#include <stdio.h>

int hook(void) { return 1; }
int call_hook(void);

int main(void) {
  printf("%d\n", call_hook());
  return 0;
}
