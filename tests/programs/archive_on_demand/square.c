/* Archive member pulled only because mul.o (itself from the archive) needs it. */
int calc_square(int x) { return x * x; }
