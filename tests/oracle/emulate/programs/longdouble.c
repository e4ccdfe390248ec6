/* long double in the printf and scanf families (x87 80-bit): compared with a native run. */
#include <stdio.h>
#include <stdarg.h>
static void viaList(const char *fmt, ...) { va_list ap; va_start(ap, fmt); vprintf(fmt, ap); va_end(ap); }
int main(void) {
    long double v[] = {1.0L, 0.1L, 3.0L, -2.5L, 1e300L*1e300L, 1.0L/3.0L, 123456789.125L, 0.0L, -0.0L, 1e-4950L, 65536.0L,
                       9.9999995L, 0.000123456L, 1e18L, 2.5L, 3.5L, 0.5L, 1.5e-5L, 999999.5L};
    int n = sizeof v / sizeof v[0];
    for (int i = 0; i < n; i++)
        printf("[%La] [%.3La] [%Le] [%Lg] [%.20Lf] [%+12.3Lf] [%-10.2Le|] [%#Lg] [%010.1Lf] [%.0Lf] [%.10Lg] [%LE] [%LG]\n",
               v[i], v[i], v[i], v[i], v[i], v[i], v[i], v[i], v[i], v[i], v[i], v[i], v[i]);
    long double inf = 1e4000L * 1e4000L, nan = inf - inf;
    printf("%Lf %Lf %LF %Le %5.1Lf|\n", inf, -inf, inf, nan, -nan);
    viaList("list %Lf %d %Le %f %Lg\n", 1.25L, 7, 2.0L/3.0L, 0.5, 1e-10L);
    char buf[64]; snprintf(buf, sizeof buf, "%.30Lf", 1.0L/7.0L); puts(buf);
    long double r; float f; double d;
    sscanf("3.14159265358979323846264338327950288 2.5 0.1", "%Lf %f %lf", &r, &f, &d);
    printf("%.25Lf %f %.17f\n", r, f, d);
    sscanf("1e-4940 -inf 0x1.8p3", "%Lg %Lf %Lf", &r, &v[0], &v[1]);
    printf("%Lg %Lf %Lf\n", r, v[0], v[1]);
    return 0;
}
