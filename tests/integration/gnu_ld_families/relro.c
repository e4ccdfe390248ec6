/* -z relro: the program finds its own PT_GNU_RELRO and checks what it covers. */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdint.h>
extern const ElfW(Ehdr) __ehdr_start;
extern void (*__init_array_start[])(void);
int counter = 1;
__attribute__((constructor)) static void bump(void) { counter++; }
int main(void) {
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)&__ehdr_start + __ehdr_start.e_phoff);
    const ElfW(Phdr) *relro = NULL;
    for (int i = 0; i < __ehdr_start.e_phnum; i++)
        if (ph[i].p_type == PT_GNU_RELRO) relro = &ph[i];
    if (!relro) { printf("no PT_GNU_RELRO\n"); return 1; }
    uintptr_t lo = relro->p_vaddr, hi = lo + relro->p_memsz;
    uintptr_t init = (uintptr_t)__init_array_start, data = (uintptr_t)&counter;
    printf("PT_GNU_RELRO: ends on a page %s, holds .init_array %s, holds .data %s, counter %d\n",
           hi % 4096 == 0 ? "yes" : "no", lo <= init && init < hi ? "yes" : "no",
           lo <= data && data < hi ? "yes" : "no", counter);
    return 0;
}
