/* An optional hook declared hidden: only this library could define it, so the
   executable's `hook` must not bind here. */
__attribute__((weak, visibility("hidden"))) int hook(void);

int call_hook(void) { return hook ? hook() : 0; }
