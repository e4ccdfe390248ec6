/* Recursion: direct, mutual (across a function pointer), and deep (Ackermann). */
#include <stdio.h>

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static unsigned long ackermann(unsigned long m, unsigned long n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static long hanoi(int disks, int from, int to, int via, long (*step)(int, int))
{
    if (disks == 0)
        return 0;
    long moves = hanoi(disks - 1, from, via, to, step);
    moves += step(from, to);
    return moves + hanoi(disks - 1, via, to, from, step);
}

static long count_move(int from, int to) { return from != to; }

int main(void)
{
    printf("fib(25) = %ld\n", fib(25));
    printf("even(1001) = %d, odd(1001) = %d\n", is_even(1001), is_odd(1001));
    printf("ackermann(2, 3) = %lu, ackermann(3, 5) = %lu\n", ackermann(2, 3), ackermann(3, 5));
    printf("hanoi(16) = %ld moves\n", hanoi(16, 1, 3, 2, count_move));
    return 0;
}
