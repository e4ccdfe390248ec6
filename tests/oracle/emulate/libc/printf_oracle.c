/* Native oracle for the emulator's printf engine: runs glibc's vsnprintf on cases read
 * from stdin and writes the results to stdout, so one process answers a whole batch.
 *
 * Input, repeated until EOF (all integers little-endian u32):
 *   fmt_len, fmt bytes, blob_len, blob bytes (the variadic arguments exactly as they sit in
 *   memory: 8-byte slots on x86-64, 4/8-byte cells on i386), nstr, then per string:
 *   slot offset in the blob, length, bytes (the pointer to a NUL-terminated copy is stored
 *   into the blob at that offset).
 * Output per case: u32 return value of vsnprintf, u32 length kept, the bytes kept.
 * The va_list is built by hand over the blob: on x86-64 the register save areas are marked
 * as used up so every argument is fetched from the overflow area, in order.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_all(void *dst, size_t n) { return fread(dst, 1, n, stdin) == n; }

static uint32_t read_u32(int *ok) {
    uint32_t v = 0;
    *ok = read_all(&v, 4);
    return v;
}

static char out[1 << 16];

int main(void) {
    int ok = 1;
    for (;;) {
        uint32_t fmt_len = read_u32(&ok);
        if (!ok) break;
        char *fmt = calloc(fmt_len + 1, 1);
        read_all(fmt, fmt_len);
        uint32_t blob_len = read_u32(&ok);
        uint64_t *blob = calloc(blob_len / 8 + 2, 8);
        read_all(blob, blob_len);
        uint32_t nstr = read_u32(&ok);
        char **strs = calloc(nstr + 1, sizeof(char *));
        for (uint32_t i = 0; i < nstr; i++) {
            uint32_t at = read_u32(&ok), len = read_u32(&ok);
            strs[i] = calloc(len + 1, 1);
            read_all(strs[i], len);
            memcpy((char *)blob + at, &strs[i], sizeof(char *));
        }
        va_list ap;
#ifdef __x86_64__
        ap[0].gp_offset = 48;
        ap[0].fp_offset = 176;
        ap[0].overflow_arg_area = blob;
        ap[0].reg_save_area = NULL;
#else
        ap = (va_list)blob;
#endif
        int ret = vsnprintf(out, sizeof out, fmt, ap);
        uint32_t kept = ret < 0 ? 0 : (ret < (int)sizeof out ? (uint32_t)ret : sizeof out - 1);
        uint32_t r = (uint32_t)ret;
        fwrite(&r, 4, 1, stdout);
        fwrite(&kept, 4, 1, stdout);
        fwrite(out, 1, kept, stdout);
        for (uint32_t i = 0; i < nstr; i++) free(strs[i]);
        free(strs);
        free(blob);
        free(fmt);
    }
    return 0;
}
