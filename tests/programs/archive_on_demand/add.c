/* Archive member pulled by main's reference to calc_add. */
int calc_add(int a, int b) { return a + b; }
