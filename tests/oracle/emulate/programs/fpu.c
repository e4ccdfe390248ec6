/* The floating-point state a process starts with (x87 control word 0x37f, MXCSR 0x1f80)
   and arithmetic that depends on it: on i386 gcc does double arithmetic on the x87, whose
   precision control decides the rounding (Lua's 1/3 from two integers) once a
   float-to-int conversion has loaded the control word (gcc's i386 code saves it, sets
   truncation with fldcw and loads the saved word back). */
#include <stdio.h>

__attribute__((noinline)) static double divide(long long a, long long b) {
    return (double)a / (double)b;
}

int main(void) {
    unsigned short cw;
    unsigned int mxcsr;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    printf("x87 control %#x, mxcsr %#x\n", cw, mxcsr);
    volatile double real = 2.7;
    volatile int truncated = (int)real;
    printf("(int)2.7 = %d\n", truncated);
    volatile long long one = 1, three = 3, ten = 10;
    printf("1/3 = %a, 1/10 = %a\n", divide(one, three), divide(one, ten));
    volatile long double x = 1, y = 3;
    printf("long double 1/3 = %La\n", x / y);
    return 0;
}
