// C++ the hostile campaigns compile with the system's own compiler (fuzz/hostile/seeds_real.py):
// a template instantiated inline (COMDAT groups, weak symbols), an exception thrown and caught
// (.eh_frame CIEs with augmentation 'zPLR', .gcc_except_table, a personality routine),
// a thread_local with a dynamic initializer (TLS, the TLS wrapper functions in COMDATs), a
// static object with a constructor and a destructor (.init_array, __cxa_atexit) and a table
// of string literals (SHF_MERGE|SHF_STRINGS).
#include <stdio.h>
#include <string.h>

namespace {
struct Fault {
  int code;
  const char *what;
};

struct Noisy {
  int id;
  explicit Noisy(int n) : id(n) { printf("made %d\n", id); }
  ~Noisy() { printf("gone %d\n", id); }
};

Noisy static_noisy(7);
}  // namespace

template <typename T> T twice(T x) { return x + x; }
template <typename T> struct Tally {
  static int hits;
  static int bump() { return ++hits; }
};
template <typename T> int Tally<T>::hits = 1;

thread_local int tls_depth = 3;
thread_local Noisy tls_noisy(tls_depth + 40);

const char *const kNames[] = {"alpha", "beta", "gamma", "alpha beta"};

static int risky(int n) {
  if (n > 3) throw Fault{n, kNames[n & 3]};
  return twice(n) + Tally<int>::bump();
}

extern "C" int cxx_part(int n) {
  ++tls_depth;
  try {
    return risky(n) + static_cast<int>(twice(1.25)) + tls_noisy.id;
  } catch (const Fault &f) {
    return f.code + static_cast<int>(strlen(f.what)) + Tally<long>::bump();
  }
}
