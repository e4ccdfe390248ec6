/* qsort for small arrays, run as guest code by the emulated libc (oracle/emulate/sorting.py
   jumps here once it has checked the array).  The same stable top-down merge sort as the
   Python one there, comparison for comparison: the comparator sees pointers into the
   untouched array, and the sorted elements are written back once at the end.  Everything
   lives on the stack (the caller bounds count and size), nothing is called but the
   comparator, and no global is used, so the code runs wherever it is put. */
typedef __SIZE_TYPE__ size_t;
typedef int (*compare_fn)(const void *, const void *);

static void merge_sort(size_t *order, size_t *merged, size_t count, const unsigned char *base,
                       size_t size, compare_fn compare) {
    if (count <= 1)
        return;
    size_t mid = count / 2;
    merge_sort(order, merged, mid, base, size, compare);
    merge_sort(order + mid, merged, count - mid, base, size, compare);
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < count) {
        if (compare(base + order[i] * size, base + order[j] * size) <= 0)
            merged[k++] = order[i++];
        else
            merged[k++] = order[j++];
    }
    while (i < mid)
        merged[k++] = order[i++];
    while (j < count)
        merged[k++] = order[j++];
    for (k = 0; k < count; k++)
        order[k] = merged[k];
}

void guest_qsort(void *array, size_t count, size_t size, compare_fn compare) {
    unsigned char *base = array;
    size_t order[count], merged[count];
    unsigned char sorted[count * size];
    for (size_t k = 0; k < count; k++)
        order[k] = k;
    merge_sort(order, merged, count, base, size, compare);
    for (size_t k = 0; k < count; k++)
        for (size_t b = 0; b < size; b++)
            sorted[k * size + b] = base[order[k] * size + b];
    for (size_t b = 0; b < count * size; b++)
        base[b] = sorted[b];
}
