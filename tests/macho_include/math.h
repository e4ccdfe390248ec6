/* <math.h> for Darwin: the double functions (libm is part of libSystem on Darwin). */
#ifndef LH_DARWIN_MATH_H
#define LH_DARWIN_MATH_H

#include "_types.h"

__BEGIN_DECLS

#define HUGE_VAL __builtin_huge_val()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define M_PI 3.14159265358979323846

double sqrt(double);
double sin(double);
double cos(double);
double tan(double);
double atan(double);
double atan2(double, double);
double exp(double);
double log(double);
double log10(double);
double pow(double, double);
double fabs(double);
double floor(double);
double ceil(double);
double round(double);
double trunc(double);
double fmod(double, double);
double ldexp(double, int);
double frexp(double, int *);
double modf(double, double *);
double hypot(double, double);
long lround(double);
double acos(double);
double asin(double);
double sinh(double);
double cosh(double);
double tanh(double);
double acosh(double);
double asinh(double);
double atanh(double);
double cbrt(double);
double exp2(double);
double expm1(double);
double log1p(double);
double log2(double);
double fmin(double, double);
double fmax(double, double);
double copysign(double, double);
double rint(double);
double nearbyint(double);
double remainder(double, double);
double erf(double);
double erfc(double);
long lrint(double);
long long llrint(double);
long long llround(double);
float sqrtf(float);
float logf(float);

__END_DECLS

#endif
