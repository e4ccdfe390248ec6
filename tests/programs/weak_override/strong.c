/* Strong definitions win over the weak ones in defaults.c, whatever the link order. */
int hook(int x) { return x * 100; }
int setting = 2;
