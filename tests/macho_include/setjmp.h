/* <setjmp.h> for Darwin x86-64: jmp_buf is 37 ints (_JBLEN), sigjmp_buf one more. */
#ifndef LH_DARWIN_SETJMP_H
#define LH_DARWIN_SETJMP_H

#include "_types.h"

__BEGIN_DECLS

typedef int jmp_buf[37];
typedef int sigjmp_buf[37 + 1];

int setjmp(jmp_buf) __attribute__((returns_twice));
void longjmp(jmp_buf, int) __attribute__((noreturn));
int _setjmp(jmp_buf) __attribute__((returns_twice));
void _longjmp(jmp_buf, int) __attribute__((noreturn));
int sigsetjmp(sigjmp_buf, int) __attribute__((returns_twice));
void siglongjmp(sigjmp_buf, int) __attribute__((noreturn));

__END_DECLS

#endif
