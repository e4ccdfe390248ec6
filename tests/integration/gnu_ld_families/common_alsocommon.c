/* An archive member with only another COMMON copy: GNU ld leaves it out. */
int only_common;             /* COMMON too: GNU ld does not pull this member for it */
int other_marker(void) { return 2; }
