/* Shared initialised data in an object of its own. */
#include "store.h"

const char *last_op = "none";
