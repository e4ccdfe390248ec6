/* Library data an executable built without -fPIC copies into itself (COPY relocations). */
const char readonly[100] = "abc";
char readwrite[100] = "abc";
