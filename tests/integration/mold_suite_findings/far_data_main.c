#include <stdio.h>

extern char huge_table[];
extern char small_table[];

int main(void) {
  printf("%d %d\n", huge_table[0], small_table[0]);
  return 0;
}
