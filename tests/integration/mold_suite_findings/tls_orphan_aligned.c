/* A 256-aligned thread-local array in another unnamed section, so the TLS block holds a
   gap and its start must carry the largest alignment. */
__attribute__((section(".tls_orphan_aligned"))) _Alignas(256) _Thread_local int table[] = {5, 6, 7};
