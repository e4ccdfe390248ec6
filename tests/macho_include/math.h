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
double hypot(double, double);
long lround(double);
float sqrtf(float);
float logf(float);

__END_DECLS

#endif
