/* A definition given a hidden version by .symver, whose plain name the version script
   names under the same version. */
int measure(void) { return 7; }
int measure_impl(void) { return 8; }

__asm__(".symver measure, measure@V_ONE");
__asm__(".symver measure_impl, other@V_ONE");
