/* Library data an executable built without -fPIC copies into itself (COPY relocations):
   read-only, sealed after relocation (.data.rel.ro, in the library's RELRO), writable. */
const char readonly[100] = "abc";
__attribute__((section(".data.rel.ro"))) char sealed[100] = "abc";
char readwrite[100] = "abc";
