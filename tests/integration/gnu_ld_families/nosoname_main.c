/* Linked against sub/libnos.so (no DT_SONAME): DT_NEEDED must be that path. */
#include <stdio.h>
int nos_value(void);
int main(void) { printf("nos %d\n", nos_value()); return 0; }
