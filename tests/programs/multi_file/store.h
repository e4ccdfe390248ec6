/* The store's interface, shared by every object of multi_file. */
#ifndef STORE_H
#define STORE_H
void store_put(const char *key, int value);
int store_get(const char *key, int missing);
unsigned long store_checksum(void);
unsigned long hash_string(const char *s);
extern int store_size;
extern const char *last_op;
#endif
