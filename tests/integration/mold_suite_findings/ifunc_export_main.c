/* Calls the library's IFUNCs directly and through their addresses: every path must reach
   the implementation the resolver chose, never the resolver. */
#include <stdio.h>

int scale(int);
int offset(int);
int offset_twice(int);

typedef int Op(int);
static Op *volatile taken_scale = scale;
static Op *volatile taken_offset = offset;

int main(void) {
  printf("scale %d %d offset %d %d twice %d same %d\n", scale(5), taken_scale(6), offset(1),
         taken_offset(2), offset_twice(10), taken_scale == scale);
  return 0;
}
