"""The `_Thread_local` program test_tlv.py (x86-64) and test_tlv_i386.py link: an
initialised int and array, a zero-filled int, a static string, each read and written.
The array's element is 64 bits on both arches (`long` on x86-64, `long long` on i386), so
both print the same "7 10 37 1 tls\\n108 Tls ok\\n"."""

_TEMPLATE = r"""
#include <stdio.h>
_Thread_local int counter = 5;
_Thread_local WIDE big[4] = {10, 20, 30, 40};
_Thread_local int zeroed;
static _Thread_local char tag[8] = "tls";
int bump(int by) { counter += by; return counter; }
int main(int argc, char **argv) {
    zeroed += argc;
    big[2] += bump(2);
    printf("%d %FMT %FMT %d %s\n", counter, big[0], big[2], zeroed, tag);
    tag[0] = 'T';
    int *p = &counter;
    *p += 100;
    printf("%d %s %s\n", bump(1), tag, (void *)0 == (void *)&zeroed ? "null" : "ok");
    return counter & 0x7f;
}
"""


def counter_program(wide: str) -> str:
    """The program with `wide` ("long" or "long long") as the array's 64-bit type."""
    fmt = {"long": "ld", "long long": "lld"}[wide]
    return _TEMPLATE.replace("WIDE", wide).replace("FMT", fmt)
