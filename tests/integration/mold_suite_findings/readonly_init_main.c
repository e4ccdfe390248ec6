/* Two constructors: one listed by a writable .init_array, one by a read-only one. */
#include <stdio.h>

void first_ctor(void) { printf("first "); }
void second_ctor(void) { printf("second "); }

int main(void) {
  printf("main\n");
  return 0;
}
