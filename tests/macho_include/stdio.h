/* <stdio.h> for Darwin: FILE is opaque, and the standard streams are libSystem's
 * __stdinp/__stdoutp/__stderrp pointers (not glibc's stdin/stdout/stderr). */
#ifndef LH_DARWIN_STDIO_H
#define LH_DARWIN_STDIO_H

#include <stdarg.h>
#include "_types.h"

typedef struct __sFILE FILE;
typedef off_t fpos_t;

extern FILE *__stdinp;
extern FILE *__stdoutp;
extern FILE *__stderrp;
#define stdin __stdinp
#define stdout __stdoutp
#define stderr __stderrp

#define EOF (-1)
#define BUFSIZ 1024
#define _IOFBF 0
#define _IOLBF 1
#define _IONBF 2
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

int printf(const char *restrict, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *restrict, const char *restrict, ...) __attribute__((format(printf, 2, 3)));
int sprintf(char *restrict, const char *restrict, ...) __attribute__((format(printf, 2, 3)));
int snprintf(char *restrict, size_t, const char *restrict, ...)
    __attribute__((format(printf, 3, 4)));
int vprintf(const char *restrict, va_list);
int vfprintf(FILE *restrict, const char *restrict, va_list);
int vsprintf(char *restrict, const char *restrict, va_list);
int vsnprintf(char *restrict, size_t, const char *restrict, va_list);
int sscanf(const char *restrict, const char *restrict, ...);

int puts(const char *);
int fputs(const char *restrict, FILE *restrict);
int putchar(int);
int putc(int, FILE *);
int fputc(int, FILE *);
int getchar(void);
int getc(FILE *);
int fgetc(FILE *);
char *fgets(char *restrict, int, FILE *restrict);
size_t fwrite(const void *restrict, size_t, size_t, FILE *restrict);
size_t fread(void *restrict, size_t, size_t, FILE *restrict);
int fflush(FILE *);
FILE *fopen(const char *restrict, const char *restrict);
int fclose(FILE *);
int setvbuf(FILE *restrict, char *restrict, int, size_t);
void setbuf(FILE *restrict, char *restrict);
void perror(const char *);

#endif
