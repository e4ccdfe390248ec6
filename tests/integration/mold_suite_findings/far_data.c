/* A 4 GB array and a small one: the image passes what a rel32 displacement reaches. */
char huge_table[4000L * 1000 * 1000];
char small_table[1000 * 1000];
