/* The store: an open-addressing table in .bss, using hash.c's function. */
#include <string.h>
#include "store.h"

#define SLOTS 64
static const char *keys[SLOTS];
static int values[SLOTS];
int store_size;

static int slot_of(const char *key)
{
    unsigned long h = hash_string(key) % SLOTS;
    while (keys[h] && strcmp(keys[h], key) != 0)
        h = (h + 1) % SLOTS;
    return (int)h;
}

void store_put(const char *key, int value)
{
    int s = slot_of(key);
    if (!keys[s]) {
        keys[s] = key;
        store_size++;
    }
    values[s] = value;
    last_op = "put";
}

int store_get(const char *key, int missing)
{
    int s = slot_of(key);
    last_op = "get";
    return keys[s] ? values[s] : missing;
}

unsigned long store_checksum(void)
{
    unsigned long sum = 0;
    for (int i = 0; i < SLOTS; i++)
        if (keys[i])
            sum = sum * 131 + hash_string(keys[i]) + (unsigned long)values[i];
    return sum;
}
