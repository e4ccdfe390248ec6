/* One executable, two kinds of object: main.c is non-PIC (absolute/pc-relative references,
 * so lib_value gets a COPY relocation and lib_get a canonical PLT entry), pic.c is -fPIC
 * (every reference through the GOT).  The GOT slots must point at the COPY and at the
 * canonical PLT entry, or the objects, and the library, see different things. */
#include <stdio.h>

extern int lib_value;
extern int lib_array[3];
int lib_get(void);
int *lib_value_addr(void);

int *pic_value_addr(void);
int (*pic_lib_get(void))(void);
void pic_bump(void);

int main(void)
{
    lib_value = 20;
    pic_bump();
    printf("main sees %d, library sees %d\n", lib_value, lib_get());
    printf("&lib_value: main==pic %d, main==lib %d\n", &lib_value == pic_value_addr(),
           &lib_value == lib_value_addr());
    printf("lib_get: main==pic %d\n", lib_get == pic_lib_get());
    lib_array[2] = 30;
    printf("array %d %d %d\n", lib_array[0], lib_array[1], lib_array[2]);
    return 0;
}
