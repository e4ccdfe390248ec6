// Included by both a.cc and b.cc: every inline function, its static local and each
// template instantiation is emitted in both objects, each in its own COMDAT group.
inline int &counter() { static int n = 0; return n; }   // one n for the whole program
template <int K> int scaled(int x) { return x * K + counter()++; }
int from_a(int x);
int from_b(int x);
