#include <stdio.h>
int lv_default(void) { return 7; }
int lv_protected(void) { return 8; }
int lv_hidden(void) { return 9; }
int lv_calls(void);
int lv_table_sum(void);
extern int lv_data;
int main(void) {
  lv_data = 50; /* the library reads the executable's copy (or the one definition) */
  printf("%d %d %d\n", lv_calls(), lv_table_sum(), lv_default() + lv_protected() + lv_hidden());
  return 0;
}
