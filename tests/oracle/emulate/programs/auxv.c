/* The initial stack as the kernel builds it: argc, argv, envp, then the auxiliary vector. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv, char **envp) {
    printf("argc %d\n", argc);
    for (int i = 0; i <= argc; i++) printf("argv[%d] %s\n", i, argv[i] ? argv[i] : "NULL");
    char **e = envp;
    while (*e) printf("env %s\n", *e++);
    unsigned long *aux = (unsigned long *)(e + 1);
    int seen = 0;
    unsigned long phdr = 0, entry = 0;  /* printed relative: PIE loads at random bases */
    for (; aux[0] != 0; aux += 2) {
        switch (aux[0]) {
        case 3: phdr = aux[1]; seen++; break;
        case 4: printf("AT_PHENT %lu\n", aux[1]); seen++; break;
        case 5: printf("AT_PHNUM %lu\n", aux[1]); seen++; break;
        case 6: printf("AT_PAGESZ %lu\n", aux[1]); seen++; break;
        case 9: entry = aux[1]; seen++; break;
        case 25: printf("AT_RANDOM %s\n", aux[1] ? "set" : "null"); seen++; break;
        case 31: printf("AT_EXECFN %s\n", strcmp((char *)aux[1], argv[0]) ? "differs" : "argv0");
                 seen++; break;
        }
    }
    printf("AT_PHDR page offset %#lx, AT_ENTRY - AT_PHDR %#lx\n", phdr & 0xfff, entry - phdr);
    printf("seen %d, argv aligned %d\n", seen, (int)(((unsigned long)(argv - 1)) % 16 == 0));
    return 0;
}
