#include <stdio.h>

extern _Thread_local int counter;
extern _Thread_local int table[];

int main(void) {
  printf("%lu %d %d %d %d\n", (unsigned long)&table % 256, counter, table[0], table[1], table[2]);
  return 0;
}
