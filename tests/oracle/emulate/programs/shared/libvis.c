/* A library whose own calls meet default, protected and hidden definitions: the executable
   interposes `lv_default` and `lv_protected`, but only the default one reaches the library's
   own calls; `lv_hidden` is the library's own whoever else defines the name. */
int lv_default(void) { return 1; }
__attribute__((visibility("protected"))) int lv_protected(void) { return 2; }
__attribute__((visibility("hidden"))) int lv_hidden(void) { return 3; }
int lv_table_sum(void);
static int (*const lv_table[])(void) = {lv_default, lv_protected, lv_hidden};
int lv_data = 40;
int lv_calls(void) {
  return lv_default() * 100 + lv_protected() * 10 + lv_hidden() + lv_data;
}
int lv_table_sum(void) {
  int sum = 0;
  for (int i = 0; i < 3; i++) sum = sum * 10 + lv_table[i]();
  return sum;
}
