/* Checks, at run time, the field of every relocation in zoo.s: absolute 8/16/32/32S/64,
 * pc-relative 8/16/32/64, GOTPC32 + GOTOFF64, and GOTPCREL against a local definition and
 * against an import (which must agree with this object's own &puts). */
#include <stdint.h>
#include <stdio.h>

int zoo_target[4] = {11, 22, 33, 44};

extern uint8_t zoo_abs8;
extern int8_t zoo_pc8;
extern uint16_t zoo_abs16;
extern int16_t zoo_pc16;
extern uint32_t zoo_abs32;
extern int32_t zoo_pc32;
extern uint64_t zoo_abs64;
extern int64_t zoo_pc64;
extern char zoo_near;
void *zoo_gotoff_addr(void);
void *zoo_32s_addr(void);
int zoo_gotpcrel_load(void);
void *zoo_import_via_got(void);

static void check(const char *name, int ok) { printf("%-18s %s\n", name, ok ? "ok" : "WRONG"); }

int main(void)
{
    uintptr_t target = (uintptr_t)zoo_target;
    check("R_X86_64_8", zoo_abs8 == 0x42);
    check("R_X86_64_PC8", (uintptr_t)&zoo_pc8 + zoo_pc8 == (uintptr_t)&zoo_near);
    check("R_X86_64_16", zoo_abs16 == 0x1234);
    check("R_X86_64_PC16", (uintptr_t)&zoo_pc16 + zoo_pc16 == target);
    check("R_X86_64_32", zoo_abs32 == target);
    check("R_X86_64_PC32", (uintptr_t)&zoo_pc32 + zoo_pc32 == target + 4);
    check("R_X86_64_64", zoo_abs64 == target + 8);
    check("R_X86_64_PC64", (uintptr_t)&zoo_pc64 + zoo_pc64 == target);
    check("GOTPC32+GOTOFF64", zoo_gotoff_addr() == (void *)zoo_target);
    check("R_X86_64_32S", zoo_32s_addr() == (void *)zoo_target);
    check("GOTPCREL local", zoo_gotpcrel_load() == 11);
    check("GOTPCREL import", zoo_import_via_got() == (void *)puts);
    printf("near byte %c\n", zoo_near);
    return 0;
}
