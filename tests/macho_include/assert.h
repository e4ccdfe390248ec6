/* <assert.h> for Darwin: a failed assert() calls libSystem's __assert_rtn(function, file,
 * line, expression), which prints "Assertion failed: (expression), function f, file x.c,
 * line n." and aborts.  No include guard: the standard lets NDEBUG change per inclusion. */
#include "_types.h"

#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
__BEGIN_DECLS
void __assert_rtn(const char *, const char *, int, const char *) __attribute__((noreturn));
__END_DECLS
#define assert(e) \
    (__builtin_expect(!(e), 0) ? __assert_rtn(__func__, __FILE__, __LINE__, #e) : (void)0)
#endif
