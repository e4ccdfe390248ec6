/* The C++ unit's entry for the executable targets, which link C alone (the emulator has no
   C++ runtime): fuzz/hostile/seeds_real.py. */
int cxx_part(int n) { return n * 3; }
