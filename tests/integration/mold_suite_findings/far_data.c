/* Arrays whose sum passes 2 GiB: the image is larger than a rel32 displacement reaches. */
char huge_table[3000L * 1000 * 1000];
char small_table[1000 * 1000];
