/* <string.h> for Darwin: the mem* and str* functions. */
#ifndef LH_DARWIN_STRING_H
#define LH_DARWIN_STRING_H

#include "_types.h"

__BEGIN_DECLS

void *memcpy(void *__restrict, const void *__restrict, size_t);
void *memmove(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
void *memchr(const void *, int, size_t);

size_t strlen(const char *);
size_t strnlen(const char *, size_t);
char *strcpy(char *__restrict, const char *__restrict);
char *strncpy(char *__restrict, const char *__restrict, size_t);
char *stpcpy(char *__restrict, const char *__restrict);
char *strcat(char *__restrict, const char *__restrict);
char *strncat(char *__restrict, const char *__restrict, size_t);
int strcmp(const char *, const char *);
int strncmp(const char *, const char *, size_t);
int strcoll(const char *, const char *);
char *strchr(const char *, int);
char *strrchr(const char *, int);
char *strstr(const char *, const char *);
size_t strspn(const char *, const char *);
size_t strcspn(const char *, const char *);
char *strpbrk(const char *, const char *);
char *strtok_r(char *__restrict, const char *__restrict, char **__restrict);
char *strtok(char *__restrict, const char *__restrict);
char *strerror(int);
char *strdup(const char *);
char *strndup(const char *, size_t);

/* Darwin's <string.h> also brings in <strings.h> */
#include <strings.h>

__END_DECLS

#endif
