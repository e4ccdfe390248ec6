/* .ctors/.dtors beside constructor/destructor attributes (.init_array/.fini_array),
   with priorities: the run order GNU ld gives. */
#include <stdio.h>
static void say(const char *s) { printf("%s\n", s); }
static void ctor_a(void) { say("ctors a"); }
static void ctor_b(void) { say("ctors b"); }
static void ctor_p(void) { say("ctors.00200 (init priority 65335)"); }
static void dtor_a(void) { say("dtors a"); }
static void dtor_b(void) { say("dtors b"); }
static void (*ctors_list[])(void) __attribute__((section(".ctors"), used, aligned(sizeof(void *)))) = { ctor_a, ctor_b };
static void (*ctors_prio[])(void) __attribute__((section(".ctors.00200"), used, aligned(sizeof(void *)))) = { ctor_p };
static void (*dtors_list[])(void) __attribute__((section(".dtors"), used, aligned(sizeof(void *)))) = { dtor_a, dtor_b };
__attribute__((constructor)) static void init_plain(void) { say("constructor"); }
__attribute__((constructor(300))) static void init_300(void) { say("constructor(300)"); }
__attribute__((constructor(65400))) static void init_65400(void) { say("constructor(65400)"); }
__attribute__((destructor)) static void fini_plain(void) { say("destructor"); }
__attribute__((destructor(300))) static void fini_300(void) { say("destructor(300)"); }
int main(void) { say("main"); return 0; }
