/* POSIX threads as libSystem declares them (Darwin's opaque struct sizes: an 8-byte
 * signature then the body).  The emulated libSystem runs each thread to completion when
 * it is created: see oracle/emulate/macho/pthreads.py. */
#ifndef LH_DARWIN_PTHREAD_H
#define LH_DARWIN_PTHREAD_H

#include "_types.h"

typedef struct _opaque_pthread_t *pthread_t;
#ifdef __LP64__
typedef struct { long __sig; char __opaque[56]; } pthread_attr_t;
typedef struct { long __sig; char __opaque[56]; } pthread_mutex_t;
#else
typedef struct { long __sig; char __opaque[36]; } pthread_attr_t;
typedef struct { long __sig; char __opaque[40]; } pthread_mutex_t;
#endif
typedef struct { long __sig; char __opaque[8]; } pthread_mutexattr_t;
typedef unsigned long pthread_key_t;

#define PTHREAD_MUTEX_INITIALIZER {0x32AAABA7, {0}}

__BEGIN_DECLS
int pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int pthread_join(pthread_t, void **);
void pthread_exit(void *) __attribute__((noreturn));
int pthread_detach(pthread_t);
pthread_t pthread_self(void);
int pthread_equal(pthread_t, pthread_t);
int pthread_key_create(pthread_key_t *, void (*)(void *));
int pthread_key_delete(pthread_key_t);
void *pthread_getspecific(pthread_key_t);
int pthread_setspecific(pthread_key_t, const void *);
int pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *);
int pthread_mutex_lock(pthread_mutex_t *);
int pthread_mutex_unlock(pthread_mutex_t *);
int pthread_mutex_destroy(pthread_mutex_t *);
__END_DECLS

#endif
