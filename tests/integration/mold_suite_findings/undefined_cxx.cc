// Calls a function no input defines: the error must name it as GNU ld does, demangled.
namespace shapes { double area(const char *kind, int sides); }

int main() { return shapes::area("square", 4) > 0; }
