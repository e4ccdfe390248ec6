#include <stdio.h>
int pl_sum(void);
extern int pl_data;
extern __thread int pl_tls;
int main(void) { pl_data = 10; pl_tls = 20; printf("%d\n", pl_sum()); return 0; }
