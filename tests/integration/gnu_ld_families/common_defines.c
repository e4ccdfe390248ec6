/* An archive member that defines a symbol the program has as COMMON. */
int shared_counter = 42;     /* a real definition: GNU ld pulls this member */
int member_marker(void) { return 1; }
