/* A second object: its .ctors/.dtors run after the first object's. */
#include <stdio.h>
static void c2(void) { printf("second .ctors\n"); }
static void d2(void) { printf("second .dtors\n"); }
static void (*c2l[])(void) __attribute__((section(".ctors"), used, aligned(sizeof(void *)))) = { c2 };
static void (*d2l[])(void) __attribute__((section(".dtors"), used, aligned(sizeof(void *)))) = { d2 };
__attribute__((constructor)) static void i2(void) { printf("second constructor\n"); }
