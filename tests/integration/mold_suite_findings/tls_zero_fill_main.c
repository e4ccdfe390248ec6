#include <stdio.h>

extern _Thread_local char first_zeros[512], second_zeros[512], third_zeros[512];

int main(void) {
  first_zeros[0] = 1;
  first_zeros[511] = 2;
  third_zeros[0] = 3;
  printf("%d %d %d %d %d %d\n", first_zeros[0], first_zeros[511], second_zeros[0],
         second_zeros[511], third_zeros[0], third_zeros[511]);
  return 0;
}
