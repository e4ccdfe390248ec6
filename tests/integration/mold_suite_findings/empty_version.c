/* Definitions named with an empty version: `name@` and `name@@` are plain exports. */
int first_impl(void) { return 1; }
int second_impl(void) { return 2; }

__asm__(".symver first_impl, first@");
__asm__(".symver second_impl, second@@");
