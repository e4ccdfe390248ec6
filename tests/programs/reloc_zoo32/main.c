/* Checks, at run time, the field of every relocation in zoo.s (i386, REL: the addends live
 * in the section bytes): absolute 8/16/32, pc-relative 8/16/32, GOTPC + GOTOFF, and GOT32
 * against a local definition and against an import (which must agree with &puts here). */
#include <stdint.h>
#include <stdio.h>

int zoo_target[4] = {11, 22, 33, 44};

extern uint8_t zoo_abs8;
extern int8_t zoo_pc8;
extern uint16_t zoo_abs16;
extern int16_t zoo_pc16;
extern uint32_t zoo_abs32;
extern int32_t zoo_pc32;
extern char zoo_near;
void *zoo_gotoff_addr(void);
int zoo_got_load(void);
void *zoo_import_via_got(void);
void *zoo_abs_addr(void);

static void check(const char *name, int ok) { printf("%-15s %s\n", name, ok ? "ok" : "WRONG"); }

int main(void)
{
    uintptr_t target = (uintptr_t)zoo_target;
    check("R_386_8", zoo_abs8 == 0x42);
    check("R_386_PC8", (uintptr_t)&zoo_pc8 + zoo_pc8 == (uintptr_t)&zoo_near);
    check("R_386_16", zoo_abs16 == 0x1234);
    check("R_386_PC16", (uintptr_t)&zoo_pc16 + zoo_pc16 == target);
    check("R_386_32", zoo_abs32 == target + 8);
    check("R_386_PC32", (uintptr_t)&zoo_pc32 + zoo_pc32 == target + 4);
    check("GOTPC+GOTOFF", zoo_gotoff_addr() == (void *)zoo_target);
    check("GOT32 local", zoo_got_load() == 11);
    check("GOT32 import", zoo_import_via_got() == (void *)puts);
    check("R_386_32 code", zoo_abs_addr() == (void *)zoo_target);
    printf("near byte %c\n", zoo_near);
    return 0;
}
