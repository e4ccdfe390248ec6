/* <stdio.h> for Darwin: FILE is opaque, and the standard streams are libSystem's
 * __stdinp/__stdoutp/__stderrp pointers (not glibc's stdin/stdout/stderr). */
#ifndef LH_DARWIN_STDIO_H
#define LH_DARWIN_STDIO_H

#include <stdarg.h>
#include "_types.h"

__BEGIN_DECLS

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
#define L_tmpnam 1024
#define FILENAME_MAX 1024
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

int printf(const char *__restrict, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *__restrict, const char *__restrict, ...) __attribute__((format(printf, 2, 3)));
int sprintf(char *__restrict, const char *__restrict, ...) __attribute__((format(printf, 2, 3)));
int snprintf(char *__restrict, size_t, const char *__restrict, ...)
    __attribute__((format(printf, 3, 4)));
int vprintf(const char *__restrict, va_list);
int vfprintf(FILE *__restrict, const char *__restrict, va_list);
int vsprintf(char *__restrict, const char *__restrict, va_list);
int vsnprintf(char *__restrict, size_t, const char *__restrict, va_list);
int asprintf(char **__restrict, const char *__restrict, ...);
int vasprintf(char **__restrict, const char *__restrict, va_list);
int sscanf(const char *__restrict, const char *__restrict, ...);
int scanf(const char *__restrict, ...);
int fscanf(FILE *__restrict, const char *__restrict, ...);
ssize_t getline(char **__restrict, size_t *__restrict, FILE *__restrict);
ssize_t getdelim(char **__restrict, size_t *__restrict, int, FILE *__restrict);

int puts(const char *);
int fputs(const char *__restrict, FILE *__restrict);
int putchar(int);
int putc(int, FILE *);
int fputc(int, FILE *);
int getchar(void);
int getc(FILE *);
int fgetc(FILE *);
char *fgets(char *__restrict, int, FILE *__restrict);
size_t fwrite(const void *__restrict, size_t, size_t, FILE *__restrict);
size_t fread(void *__restrict, size_t, size_t, FILE *__restrict);
int fflush(FILE *);
FILE *fopen(const char *__restrict, const char *__restrict);
FILE *fdopen(int, const char *);
FILE *freopen(const char *__restrict, const char *__restrict, FILE *__restrict);
FILE *tmpfile(void);
char *tmpnam(char *);
void clearerr(FILE *);
int fileno(FILE *);
int fclose(FILE *);
int fseek(FILE *, long, int);
long ftell(FILE *);
void rewind(FILE *);
int ungetc(int, FILE *);
int remove(const char *);
int rename(const char *, const char *);
int setvbuf(FILE *__restrict, char *__restrict, int, size_t);
void setbuf(FILE *__restrict, char *__restrict);
void perror(const char *);
/* POSIX's unlocked character functions: libSystem functions, not macros */
int getc_unlocked(FILE *);
int getchar_unlocked(void);
int putc_unlocked(int, FILE *);
int putchar_unlocked(int);

__END_DECLS

#endif
