/* <stdlib.h> for Darwin: memory, process exit, conversions, sorting, environment. */
#ifndef LH_DARWIN_STDLIB_H
#define LH_DARWIN_STDLIB_H

#include "_types.h"

__BEGIN_DECLS

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX 0x7fffffff

void *malloc(size_t);
void *calloc(size_t, size_t);
void *realloc(void *, size_t);
void free(void *);
int posix_memalign(void **, size_t, size_t);

void exit(int) __attribute__((noreturn));
void _Exit(int) __attribute__((noreturn));
void abort(void) __attribute__((noreturn));
int atexit(void (*)(void));

int atoi(const char *);
long atol(const char *);
long long atoll(const char *);
double atof(const char *);
double strtod(const char *__restrict, char **__restrict);
long strtol(const char *__restrict, char **__restrict, int);
long long strtoll(const char *__restrict, char **__restrict, int);
unsigned long strtoul(const char *__restrict, char **__restrict, int);
unsigned long long strtoull(const char *__restrict, char **__restrict, int);
long long llabs(long long);

void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
void *bsearch(const void *, const void *, size_t, size_t, int (*)(const void *, const void *));

char *getenv(const char *);
int system(const char *);
int setenv(const char *, const char *, int);
int unsetenv(const char *);
int putenv(char *);

int abs(int) __attribute__((const));
long labs(long) __attribute__((const));
int rand(void);
void srand(unsigned);

__END_DECLS

#endif
