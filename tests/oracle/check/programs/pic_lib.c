/* A shared library with everything PT_GNU_RELRO must cover and every kind of dynamic
   relocation a library carries: RELATIVE (pointers to hidden data), symbolic 64/32 and
   GLOB_DAT (default-visibility data and functions, which the executable may interpose),
   JUMP_SLOT (calls to preemptible functions), general-dynamic TLS (DTPMOD/DTPOFF) and
   initial-exec TLS (TPOFF, with DF_STATIC_TLS). */
__attribute__((visibility("hidden"))) int pl_hidden = 3;
int pl_data = 4;
__thread int pl_tls = 5;
static __thread int pl_local_tls = 6;
__attribute__((tls_model("initial-exec"))) __thread int pl_ie = 7;
int pl_fn(int x) { return x + 1; }
int *const pl_pointers[] = {&pl_hidden, &pl_data};
int (*pl_callback)(int) = pl_fn;
static int ran;
__attribute__((constructor)) static void pl_init(void) { ran = 1; }
__attribute__((destructor)) static void pl_fini(void) { ran = 0; }
int pl_sum(void) {
  return *pl_pointers[0] + *pl_pointers[1] + pl_tls + pl_local_tls + pl_ie + pl_fn(0) +
         pl_callback(1) + ran;
}
