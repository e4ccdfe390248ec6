/* A dense switch: at -O2 compilers emit a jump table in .rodata, addressed with R_X86_64_32S
 * (non-PIE) or table-relative offsets (PIC). */
#include <stdio.h>
#include <stdlib.h>

static const char *opcode(int op)
{
    switch (op) {
    case 0: return "nop";
    case 1: return "load";
    case 2: return "store";
    case 3: return "add";
    case 4: return "sub";
    case 5: return "mul";
    case 6: return "div";
    case 7: return "jmp";
    case 8: return "call";
    case 9: return "ret";
    case 10: return "push";
    case 11: return "pop";
    case 13: return "halt";
    default: return "?";
    }
}

static int eval(int op, int a, int b)
{
    switch (op) {
    case 3: return a + b;
    case 4: return a - b;
    case 5: return a * b;
    case 6: return b ? a / b : 0;
    case 7: return a & b;
    case 8: return a | b;
    case 9: return a ^ b;
    case 10: return a << (b & 7);
    case 11: return a >> (b & 7);
    default: return -1;
    }
}

int main(int argc, char **argv)
{
    int seed = argc > 1 ? atoi(argv[1]) : 1;
    for (int op = -1; op < 16; op++)
        printf("%2d %-5s %d\n", op, opcode(op), eval(op, 100 + seed, 3 + seed));
    return 0;
}
