/* Four objects calling each other and sharing extern data: a small key-value store. */
#include <stdio.h>
#include "store.h"

int main(void)
{
    store_put("alpha", 1);
    store_put("beta", 22);
    store_put("gamma", 333);
    store_put("beta", 44);
    printf("size %d\n", store_size);
    const char *keys[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++)
        printf("%s -> %d\n", keys[i], store_get(keys[i], -1));
    printf("checksum %lu\n", store_checksum());
    printf("last op: %s\n", last_op);
    return store_size == 3 ? 0 : 1;
}
