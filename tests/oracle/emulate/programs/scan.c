/* sscanf conversions, widths, sets, suppression, %n, and its return values. */
#include <stdio.h>

int main(void) {
    int a = 0, b = 0, c = 0, n = 0;
    long l = 0;
    long long ll = 0;
    signed char hh = 0;
    unsigned u = 0;
    char word[16] = "", set[16] = "", ch[4] = "";
    double d = 0;
    float f = 0;
    int r1 = sscanf("  42 0x1F 017 -9", "%d %i %o %ld", &a, &b, &c, &l);
    printf("r1=%d %d %d %d %ld\n", r1, a, b, c, l);
    int r2 = sscanf("key-77-rest of it", "%7[^-]-%d-%15s", set, &a, word);
    printf("r2=%d [%s] %d [%s]\n", r2, set, a, word);
    int r3 = sscanf("abcdef 123456789012 300", "%3c%*s %lld %hhd%n", ch, &ll, &hh, &n);
    printf("r3=%d [%.3s] %lld %d n=%d\n", r3, ch, ll, hh, n);
    int r4 = sscanf("3.25e2 -0.5 ff", "%lf %f %x", &d, &f, &u);
    printf("r4=%d %.3f %.3f %u\n", r4, d, f, u);
    int r5 = sscanf("12 abc", "%d %d", &a, &b);
    int r6 = sscanf("", "%d", &a);
    int r7 = sscanf("   ", "%d", &a);
    int r8 = sscanf("x", "y%d", &a);
    int r9 = sscanf("50%", "%d%%", &a);
    printf("r5=%d r6=%d r7=%d r8=%d r9=%d\n", r5, r6, r7, r8, r9);
    return 0;
}
