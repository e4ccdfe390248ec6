#include <stdio.h>

extern char huge_table[];
extern char small_table[];

int main(void) {
  huge_table[2999L * 1000 * 1000] = 3;
  small_table[7] = 4;
  printf("%d %d\n", huge_table[2999L * 1000 * 1000], small_table[7]);
  return 0;
}
