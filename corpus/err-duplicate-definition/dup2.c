/* The second strong definition of duplicated_symbol: a link of both must fail. */
int duplicated_symbol(void) { return 2; }
