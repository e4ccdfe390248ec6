/* A thread-local int in a section the default linker script does not name. */
__attribute__((section(".tls_orphan_small"))) _Thread_local int counter = 42;
