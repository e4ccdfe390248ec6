/* Two versions of one symbol: describe@VER_1 and the default describe@@VER_2. */
const char *describe_old(void) { return "describe@VER_1"; }
const char *describe_new(void) { return "describe@@VER_2"; }
__asm__(".symver describe_old, describe@VER_1");
__asm__(".symver describe_new, describe@@VER_2");
