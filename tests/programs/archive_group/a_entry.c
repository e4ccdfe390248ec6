/* liba member: calls into libb. */
int b_middle(int x);

int a_entry(int x) { return b_middle(x) + 1; }
