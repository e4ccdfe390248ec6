/* Compiled -fPIC even in non-PIC variants: GOT-relative references to the library's data
 * and function, in the same executable as main.c's direct ones. */
extern int lib_value;
extern int lib_array[3];
int lib_get(void);

int *pic_value_addr(void) { return &lib_value; }
int (*pic_lib_get(void))(void) { return lib_get; }

void pic_bump(void)
{
    lib_value += 5;
    lib_array[1] += 100;
}
