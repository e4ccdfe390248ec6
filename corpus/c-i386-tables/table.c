/* Data with relocated pointers (R_386_32 with implicit addends into a string table). */
struct pair { const char *name; int value; };
static const char text[] = "alpha\0beta\0gamma";
struct pair pairs[] = { { text, 10 }, { text + 6, 20 }, { text + 11, 30 } };
const char *const names[] = { text, text + 6, text + 11 };

int pick(int i) { return pairs[i].value + i; }
